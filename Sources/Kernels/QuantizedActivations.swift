import CKernels

/// Activation vectors quantized once per product for the integer-dot
/// kernels of CKernels: signed bytes in blocks with a `Float` scale each and
/// the integer sums the weights' minimums and offsets are taken out with
/// (32-blocks for Q8_0, Q4_0, Q5_0, Q5_1 and IQ4_NL; 256-blocks with the
/// sums of every 16 for the K-quants and IQ4_XS), or, for the types that
/// decode with 16-bit activations (Q4_1, `lmgate_integer_dot16_kernel`),
/// signed 16-bit values in 32-blocks with a `Float` scale and sum each, as
/// also for the logits (``ActivationPrecision/roundedTo16Bits``).
///
/// Several vectors (sequences decoded together) lie one after another as
/// the several-vector kernel reads them (`lmgate_dot_vectors_kernel`,
/// `lmgate_dot16_vectors_kernel`), each quantized exactly as it would be
/// alone, so ``dots(_:into:stride:)`` gives every vector bitwise the result
/// ``dot(_:)`` gives a vector alone.
///
/// Accuracy: each activation moves by at most half its block's step,
/// `max|x| / 254` with 8 bits, as llama.cpp's do (whose scales are F16,
/// these `Float`), `max|x| / 65534` with 16; the integer products
/// themselves are exact.
struct QuantizedActivations {
    /// The kernels, by the width of the quants they read.
    private enum Kernels {
        /// 8-bit quants, `Int16` sums.
        case bytes(lmgate_dot_kernel, lmgate_dot_vectors_kernel)
        /// 16-bit quants, `Float` sums (one a 32-block).
        case halfwords(lmgate_dot16_kernel, lmgate_dot16_vectors_kernel)
    }

    private let kernels: Kernels
    private let columns: Int
    /// The number of vectors.
    let count: Int
    private let quants: UnsafeMutableRawPointer
    private let scales: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutableRawPointer

    /// Quantizes `count` vectors of `columns` activations, `x` row-major,
    /// for rows of `type`; `nil` where `path` has no integer kernel for the
    /// type. With `precision` ``ActivationPrecision/roundedTo16Bits`` (the
    /// logits), rounds them to 16 bits for the logits' kernels
    /// (`lmgate_logits16_kernel`), `nil` where the path has none for the
    /// type; with ``ActivationPrecision/exact``, always `nil`.
    init?(
        _ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, count: Int = 1, path: KernelPath,
        precision: ActivationPrecision = .quantizedWhereFaster
    ) {
        let code = Int32(type.rawValue)
        if precision == .roundedTo16Bits {
            guard let kernel = lmgate_logits16_kernel(code, path.code),
                  let vectorsKernel = lmgate_logits16_vectors_kernel(code, path.code) else { return nil }
            kernels = .halfwords(kernel, vectorsKernel)
        } else if precision == .exact || !path.integerTypes.contains(type) {
            return nil
        } else if let kernel = lmgate_integer_dot16_kernel(code, path.code),
           let vectorsKernel = lmgate_integer_dot16_vectors_kernel(code, path.code) {
            kernels = .halfwords(kernel, vectorsKernel)
        } else if let kernel = lmgate_integer_dot_kernel(code, path.code),
                  let vectorsKernel = lmgate_integer_dot_vectors_kernel(code, path.code) {
            kernels = .bytes(kernel, vectorsKernel)
        } else {
            return nil
        }
        self.columns = columns
        self.count = count
        scales = .allocate(capacity: count * columns / 32)
        switch kernels {
        case .halfwords:
            let q = UnsafeMutablePointer<Int16>.allocate(capacity: count * columns)
            let s = UnsafeMutablePointer<Float>.allocate(capacity: count * columns / 32)
            for vector in 0..<count {
                lmgate_quantize_blocks32_16(
                    x + vector * columns, Int64(columns), q + vector * columns, scales + vector * columns / 32,
                    s + vector * columns / 32)
            }
            quants = UnsafeMutableRawPointer(q)
            sums = UnsafeMutableRawPointer(s)
        case .bytes:
            // Per vector: one scale per 32-block (or fewer, per 256-block)
            // and one sum per 32-block or per 16 activations of a 256-block
            // — the strides the several-vector kernel reads.
            let blockSize = Int(lmgate_activation_block_size(code))
            let q = UnsafeMutablePointer<Int8>.allocate(capacity: count * columns)
            let s = UnsafeMutablePointer<Int16>.allocate(capacity: count * columns / 16)
            for vector in 0..<count {
                let source = x + vector * columns
                let (q, scale, s) = (q + vector * columns, scales + vector * columns / 32, s + vector * columns / 16)
                if blockSize == 32 {
                    lmgate_quantize_blocks32(source, Int64(columns), q, scale, s)
                } else {
                    lmgate_quantize_blocks256(source, Int64(columns), q, scale, s)
                }
            }
            quants = UnsafeMutableRawPointer(q)
            sums = UnsafeMutableRawPointer(s)
        }
    }

    /// Whether the vectors are rounded to 16 bits rather than 8.
    var hasSixteenBits: Bool {
        if case .halfwords = kernels { return true }
        return false
    }

    /// The dot product of a stored row with the first vector.
    @inline(__always)
    func dot(_ row: UnsafeRawPointer) -> Float {
        switch kernels {
        case .bytes(let kernel, _):
            kernel(row, quants.assumingMemoryBound(to: Int8.self), scales, sums.assumingMemoryBound(to: Int16.self), Int64(columns))
        case .halfwords(let kernel, _):
            kernel(row, quants.assumingMemoryBound(to: Int16.self), scales, sums.assumingMemoryBound(to: Float.self), Int64(columns))
        }
    }

    /// The dot products of a stored row with every vector, vector `v`'s at
    /// `out[v * stride]`, the row's blocks unpacked once for several vectors.
    @inline(__always)
    func dots(_ row: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, stride: Int) {
        switch kernels {
        case .bytes(_, let kernel):
            kernel(
                row, quants.assumingMemoryBound(to: Int8.self), scales, sums.assumingMemoryBound(to: Int16.self),
                Int64(columns), Int64(count), out, Int64(stride))
        case .halfwords(_, let kernel):
            kernel(
                row, quants.assumingMemoryBound(to: Int16.self), scales, sums.assumingMemoryBound(to: Float.self),
                Int64(columns), Int64(count), out, Int64(stride))
        }
    }

    func deallocate() {
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
    }
}
