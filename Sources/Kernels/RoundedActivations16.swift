import CKernels

/// Activation vectors rounded once per product to 16 bits per 32-block for
/// CKernels' 16-bit kernels (``ActivationPrecision/roundedTo16Bits``; the
/// rule and its bound are `lmgate_quantize_vectors16`'s), in column order.
///
/// Several vectors lie one after another as the several-vector kernel reads
/// them, each rounded exactly as it would be alone, so
/// ``dots(_:into:stride:)`` gives every vector bitwise the result
/// ``dot(_:)`` gives a vector alone.
struct RoundedActivations16: RowDotVectors {
    private let kernel: lmgate_dot16_kernel
    private let vectorsKernel: lmgate_dot16_vectors_kernel
    private let columns: Int
    /// The number of vectors.
    let count: Int
    private let quants: UnsafeMutablePointer<Int16>
    private let scales: UnsafeMutablePointer<Float>

    /// Rounds `count` vectors of `columns` activations, `x` row-major, for
    /// rows of `type`; `nil` where `path` has no 16-bit kernel for the type.
    init?(_ type: GGMLType, _ x: UnsafePointer<Float>, columns: Int, count: Int = 1, path: KernelPath) {
        guard let kernel = lmgate_dot16_kernel_for(Int32(type.rawValue), path.code),
              let vectorsKernel = lmgate_dot16_vectors_kernel_for(Int32(type.rawValue), path.code) else { return nil }
        self.kernel = kernel
        self.vectorsKernel = vectorsKernel
        self.columns = columns
        self.count = count
        quants = .allocate(capacity: count * columns)
        scales = .allocate(capacity: count * columns / 32)
        lmgate_quantize_vectors16(x, Int64(count), Int64(columns), quants, scales)
    }

    /// The dot product of a stored row with the first vector.
    @inline(__always)
    func dot(_ row: UnsafeRawPointer) -> Float {
        kernel(row, quants, scales, Int64(columns))
    }

    /// The dot products of a stored row with every vector, vector `v`'s at
    /// `out[v * stride]`, the row's blocks unpacked once for several vectors.
    @inline(__always)
    func dots(_ row: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, stride: Int) {
        vectorsKernel(row, quants, scales, Int64(columns), Int64(count), out, Int64(stride))
    }

    func deallocate() {
        quants.deallocate()
        scales.deallocate()
    }
}
