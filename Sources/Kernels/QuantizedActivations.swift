import CKernels

/// An activation vector quantized once per product for the integer-dot
/// kernels of CKernels: signed bytes in blocks with a `Float` scale each and
/// the integer sums the weights' minimums and offsets are taken out with
/// (32-blocks for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL; 256-blocks with
/// the sums of every 16 for the K-quants and IQ4_XS).
///
/// Accuracy: each activation moves by at most half its block's step
/// (`max|x| / 254`), as llama.cpp's do (whose scales are F16, these `Float`);
/// the integer products themselves are exact.
struct QuantizedActivations {
    private let kernel: lmgate_dot_kernel
    private let columns: Int
    private let quants: UnsafeMutablePointer<Int8>
    private let scales: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Int16>

    /// Quantizes `columns` activations `x` for rows of `type`; `nil` where
    /// `path` has no integer kernel for the type.
    init?(_ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, path: KernelPath) {
        guard path.integerTypes.contains(type),
              let kernel = lmgate_integer_dot_kernel(Int32(type.rawValue), path.code) else { return nil }
        let blockSize = Int(lmgate_activation_block_size(Int32(type.rawValue)))
        self.kernel = kernel
        self.columns = columns
        quants = .allocate(capacity: columns)
        scales = .allocate(capacity: columns / 32)
        // One sum per 32-block, or per 16 activations of a 256-block.
        sums = .allocate(capacity: columns / 16)
        if blockSize == 32 {
            lmgate_quantize_blocks32(x, Int64(columns), quants, scales, sums)
        } else {
            lmgate_quantize_blocks256(x, Int64(columns), quants, scales, sums)
        }
    }

    /// The dot product of a stored row with the vector.
    @inline(__always)
    func dot(_ row: UnsafeRawPointer) -> Float {
        kernel(row, quants, scales, sums, Int64(columns))
    }

    func deallocate() {
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
    }
}
