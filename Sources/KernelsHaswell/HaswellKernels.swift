import KernelBodies

/// The `Float` kernels (``FloatKernels``) compiled for AVX2, FMA and F16C:
/// this target is the only one built with `-target-cpu haswell`, and each
/// function here inlines its kernel, so that the instructions are this
/// module's. Reached only through the kernel path's choice (Kernels'
/// `FloatKernelSet`), after the CPU was found to run them.
public enum HaswellKernels {
    /// ``FloatKernels/dot(for:)`` for AVX2.
    public static func dot(for type: GGMLType) -> FloatKernels.Dot {
        FloatKernels.dot(for: type)
    }

    /// ``FloatKernels/activationSums(_:columns:into:)`` for AVX2.
    public static func activationSums(_ x: UnsafePointer<Float>, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        FloatKernels.activationSums(x, columns: columns, into: sums)
    }

    /// ``FloatKernels/dequantizeInKernelOrder(type:row:columns:into:)`` for AVX2.
    public static func dequantizeInKernelOrder(
        type: GGMLType, row: UnsafeRawPointer, columns: Int, into out: UnsafeMutablePointer<Float>
    ) {
        FloatKernels.dequantizeInKernelOrder(type: type, row: row, columns: columns, into: out)
    }

    /// ``FloatKernels/dot(_:_:columns:)`` for AVX2.
    public static func dot(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, columns: Int) -> Float {
        FloatKernels.dot(row, x, columns: columns)
    }

    /// ``FloatKernels/dot4(_:_:stride:columns:)`` for AVX2.
    public static func dot4(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, stride: Int, columns: Int) -> SIMD4<Float> {
        FloatKernels.dot4(row, x, stride: stride, columns: columns)
    }
}
