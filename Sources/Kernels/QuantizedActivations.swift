import CKernels

/// Activation vectors quantized once per product for the integer-dot
/// kernels of CKernels: signed bytes in blocks with a `Float` scale each and
/// the integer sums the weights' minimums and offsets are taken out with
/// (32-blocks for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL; 256-blocks with
/// the sums of every 16 for the K-quants and IQ4_XS).
///
/// Several vectors (sequences decoded together) lie one after another as
/// the several-vector kernel reads them (`lmgate_dot_vectors_kernel`), each
/// quantized exactly as it would be alone, so ``dots(_:into:stride:)`` gives
/// every vector bitwise the result ``dot(_:)`` gives a vector alone.
///
/// Accuracy: each activation moves by at most half its block's step
/// (`max|x| / 254`), as llama.cpp's do (whose scales are F16, these `Float`);
/// the integer products themselves are exact.
struct QuantizedActivations {
    private let kernel: lmgate_dot_kernel
    private let vectorsKernel: lmgate_dot_vectors_kernel
    private let columns: Int
    /// The number of vectors.
    let count: Int
    private let quants: UnsafeMutablePointer<Int8>
    private let scales: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Int16>

    /// Quantizes `count` vectors of `columns` activations, `x` row-major,
    /// for rows of `type`; `nil` where `path` has no integer kernel for the
    /// type.
    init?(_ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, count: Int = 1, path: KernelPath) {
        guard path.integerTypes.contains(type),
              let kernel = lmgate_integer_dot_kernel(Int32(type.rawValue), path.code),
              let vectorsKernel = lmgate_integer_dot_vectors_kernel(Int32(type.rawValue), path.code) else { return nil }
        let blockSize = Int(lmgate_activation_block_size(Int32(type.rawValue)))
        self.kernel = kernel
        self.vectorsKernel = vectorsKernel
        self.columns = columns
        self.count = count
        // Per vector: one scale per 32-block (or fewer, per 256-block) and
        // one sum per 32-block or per 16 activations of a 256-block — the
        // strides the several-vector kernel reads.
        quants = .allocate(capacity: count * columns)
        scales = .allocate(capacity: count * columns / 32)
        sums = .allocate(capacity: count * columns / 16)
        for vector in 0..<count {
            let source = x + vector * columns
            let (q, s, m) = (quants + vector * columns, scales + vector * columns / 32, sums + vector * columns / 16)
            if blockSize == 32 {
                lmgate_quantize_blocks32(source, Int64(columns), q, s, m)
            } else {
                lmgate_quantize_blocks256(source, Int64(columns), q, s, m)
            }
        }
    }

    /// The dot product of a stored row with the first vector.
    @inline(__always)
    func dot(_ row: UnsafeRawPointer) -> Float {
        kernel(row, quants, scales, sums, Int64(columns))
    }

    /// The dot products of a stored row with every vector, vector `v`'s at
    /// `out[v * stride]`, the row's blocks unpacked once for several vectors.
    @inline(__always)
    func dots(_ row: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, stride: Int) {
        vectorsKernel(row, quants, scales, sums, Int64(columns), Int64(count), out, Int64(stride))
    }

    func deallocate() {
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
    }
}
