import KernelBodies
import KernelsHaswell

/// The `Float` kernels of a ``KernelPath``, as function values: the
/// portable path's are KernelBodies' own (compiled for the baseline CPU),
/// the AVX2 and AVX-512 paths' are KernelsHaswell's (the same code compiled
/// for AVX2, FMA and F16C). Chosen where a product is prepared, like the
/// integer-dot kernels, so that a CPU without AVX2 never reaches an AVX2
/// instruction.
struct FloatKernelSet {
    let dot: (GGMLType) -> FloatKernels.Dot
    let activationSums: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    let dequantizeInKernelOrder: (GGMLType, UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void
    let dotFloat: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float
    let dotFloat4: (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int) -> SIMD4<Float>

    private static var portable: FloatKernelSet {
        FloatKernelSet(
        dot: { FloatKernels.dot(for: $0) },
        activationSums: { FloatKernels.activationSums($0, columns: $1, into: $2) },
        dequantizeInKernelOrder: { FloatKernels.dequantizeInKernelOrder(type: $0, row: $1, columns: $2, into: $3) },
        dotFloat: { FloatKernels.dot($0, $1, columns: $2) },
        dotFloat4: { FloatKernels.dot4($0, $1, stride: $2, columns: $3) })
    }

    private static var haswell: FloatKernelSet {
        FloatKernelSet(
        dot: { HaswellKernels.dot(for: $0) },
        activationSums: { HaswellKernels.activationSums($0, columns: $1, into: $2) },
        dequantizeInKernelOrder: { HaswellKernels.dequantizeInKernelOrder(type: $0, row: $1, columns: $2, into: $3) },
        dotFloat: { HaswellKernels.dot($0, $1, columns: $2) },
        dotFloat4: { HaswellKernels.dot4($0, $1, stride: $2, columns: $3) })
    }

    /// The kernels of `path`.
    static func of(_ path: KernelPath) -> FloatKernelSet {
        path == .portable ? portable : haswell
    }
}
