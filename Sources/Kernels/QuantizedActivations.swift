import CKernels

/// An activation vector quantized once per product for the integer-dot
/// kernels of CKernels: signed bytes in blocks with a `Float` scale each
/// (32-blocks for Q8_0, Q4_0, Q5_0 and IQ4_NL, 256-blocks with the sums of every 16 for the
/// K-quants, whose minimums and offsets need them).
///
/// Accuracy: each activation moves by at most half its block's step
/// (`max|x| / 254`), as llama.cpp's do (whose scales are F16, these `Float`);
/// the integer products themselves are exact.
struct QuantizedActivations {
    private enum Kernel {
        case blocks32(lmgate_dot_blocks32)
        case blocks256(lmgate_dot_blocks256)
    }

    private let kernel: Kernel
    private let columns: Int
    private let quants: UnsafeMutablePointer<Int8>
    private let scales: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Int16>

    /// Quantizes `columns` activations `x` for rows of `type`; `nil` where
    /// `path` has no integer kernel for the type.
    init?(_ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, path: KernelPath) {
        guard path.integerTypes.contains(type) else { return nil }
        let found: Kernel?
        switch type {
        case .q8_0, .q4_0, .q5_0, .iq4_nl:
            found = lmgate_dot_blocks32_kernel(Int32(type.rawValue), path.code).map(Kernel.blocks32)
        case .q4_K: found = lmgate_dot_q4_K(path.code).map(Kernel.blocks256)
        case .q6_K: found = lmgate_dot_q6_K(path.code).map(Kernel.blocks256)
        default: found = nil
        }
        guard let found else { return nil }
        kernel = found
        self.columns = columns
        quants = .allocate(capacity: columns)
        scales = .allocate(capacity: columns / 32)
        sums = .allocate(capacity: columns / 16)
        switch found {
        case .blocks32: lmgate_quantize_blocks32(x, Int64(columns), quants, scales)
        case .blocks256: lmgate_quantize_blocks256(x, Int64(columns), quants, scales, sums)
        }
    }

    /// The dot product of a stored row with the vector.
    @inline(__always)
    func dot(_ row: UnsafeRawPointer) -> Float {
        switch kernel {
        case .blocks32(let dot): dot(row, quants, scales, Int64(columns))
        case .blocks256(let dot): dot(row, quants, scales, sums, Int64(columns))
        }
    }

    func deallocate() {
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
    }
}
