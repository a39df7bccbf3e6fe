/// The `Float` kernels' entry points (``RowDot``, ``RowDequantizer``),
/// `@inlinable` so that each module that calls them compiles the kernels
/// for its own instruction set: this target and Kernels are compiled for
/// the baseline CPU (the portable path, which runs anywhere), KernelsHaswell
/// for AVX2, FMA and F16C (its `HaswellKernels` wraps these). Every kernel
/// below is `@inline(__always)`, so that no call falls through to this
/// module's baseline copy on the fast path.
public enum FloatKernels {
    /// A stored row's dot product with `columns` activations `x` in the
    /// type's kernel order (``ColumnOrder``); `sums` holds `Σ x` over each
    /// 32 columns for the types that read it (``needsActivationSums(_:)``).
    public typealias Dot = (_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ columns: Int) -> Float

    /// The dot kernel for a supported type.
    @inlinable @inline(__always)
    public static func dot(for type: GGMLType) -> Dot {
        RowDot.kernel(for: type)
    }

    /// Whether the type's ``Dot`` reads the activation sums.
    @inlinable @inline(__always)
    public static func needsActivationSums(_ type: GGMLType) -> Bool {
        RowDot.needsActivationSums(type)
    }

    /// `sums[b] = Σ x[32b ..< 32b + 32]`.
    @inlinable @inline(__always)
    public static func activationSums(_ x: UnsafePointer<Float>, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        RowDot.activationSums(x, columns: columns, into: sums)
    }

    /// Expands one stored row to `Float` in the kernels' column order.
    @inlinable @inline(__always)
    public static func dequantizeInKernelOrder(
        type: GGMLType, row: UnsafeRawPointer, columns: Int, into out: UnsafeMutablePointer<Float>
    ) {
        RowDequantizer.dequantizeInKernelOrder(type: type, row: row, columns: columns, into: out)
    }

    /// The dot product of a `Float` row with `columns` activations.
    @inlinable @inline(__always)
    public static func dot(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, columns: Int) -> Float {
        RowDot.f32(UnsafeRawPointer(row), x, columns)
    }

    /// The dot products of a `Float` row with four activation vectors
    /// `stride` apart.
    @inlinable @inline(__always)
    public static func dot4(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, stride: Int, columns: Int) -> SIMD4<Float> {
        RowDot.f32x4(row, x, stride: stride, columns)
    }
}
