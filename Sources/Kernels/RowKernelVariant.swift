import CKernels
import GGMLTypes
import RowKernels
import RowKernelsAVX2

/// One compiled copy of the row kernels (`RowKernels` for the baseline CPU,
/// `RowKernelsAVX2` for AVX2, FMA and F16C; see Package.swift), as the
/// function values the products call.
///
/// A product takes its variant from ``KernelPath/active`` on the calling
/// thread, before it hands work to the pool, and reaches the row kernels
/// only through it: calling `RowKernelsAVX2` without the CPU check would
/// be an illegal instruction on a CPU without AVX2.
struct RowKernelVariant: Sendable {
    /// The instruction set the copy was compiled for (`baseline`, `avx2`).
    let instructionSet: String
    /// A row's dot product with activations in kernel order: the row, the
    /// activations, their 32-column sums (where the type's kernel reads
    /// them), the column count (`RowDot.Kernel` in both copies).
    typealias DotKernel = (UnsafeRawPointer, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float

    /// The dot-product kernel of a stored row of a type with activations in
    /// kernel order (`RowDot.kernel(for:)`).
    let dotKernel: @Sendable (GGMLType) -> DotKernel
    /// Whether the type's dot kernel reads the 32-column activation sums.
    let needsActivationSums: @Sendable (GGMLType) -> Bool
    /// The 32-column activation sums the dot kernels read.
    let activationSums: @Sendable (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    /// A stored row expanded to `Float` in kernel order.
    let dequantizeInKernelOrder: @Sendable (GGMLType, UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void
    /// The dot product of a `Float` row with one activation vector.
    let f32: @Sendable (UnsafeRawPointer, UnsafePointer<Float>, Int) -> Float
    /// The dot products of a `Float` row with four activation vectors `stride` apart.
    let f32x4: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int) -> SIMD4<Float>

    /// The copy compiled for the baseline CPU: runs everywhere.
    static let baseline = RowKernelVariant(
        instructionSet: RowKernels.RowKernelsCompilation.instructionSet,
        dotKernel: { RowKernels.RowDot.kernel(for: $0) },
        needsActivationSums: { RowKernels.RowDot.needsActivationSums($0) },
        activationSums: { RowKernels.RowDot.activationSums($0, columns: $1, into: $2) },
        dequantizeInKernelOrder: { RowKernels.RowDequantizer.dequantizeInKernelOrder(type: $0, row: $1, columns: $2, into: $3) },
        f32: { RowKernels.RowDot.f32($0, $1, $2) },
        f32x4: { RowKernels.RowDot.f32x4($0, $1, stride: $2, $3) })

    /// The copy compiled for AVX2, FMA and F16C: only after the CPU check.
    /// Q8_0's dot kernel is CKernels' (``cDotKernel(for:)``).
    static let avx2 = RowKernelVariant(
        instructionSet: RowKernelsAVX2.RowKernelsCompilation.instructionSet,
        dotKernel: { cDotKernel(for: $0) ?? RowKernelsAVX2.RowDot.kernel(for: $0) },
        needsActivationSums: { RowKernelsAVX2.RowDot.needsActivationSums($0) },
        activationSums: { RowKernelsAVX2.RowDot.activationSums($0, columns: $1, into: $2) },
        dequantizeInKernelOrder: { RowKernelsAVX2.RowDequantizer.dequantizeInKernelOrder(type: $0, row: $1, columns: $2, into: $3) },
        f32: { RowKernelsAVX2.RowDot.f32($0, $1, $2) },
        f32x4: { RowKernelsAVX2.RowDot.f32x4($0, $1, stride: $2, $3) })

    /// CKernels' AVX2 kernel for `Float` activations in kernel order, where
    /// it has one (Q8_0: the Swift loop read half the F32 kernel's bytes per
    /// second, and the compiler's code for rewrites of it was slower still;
    /// docs/BENCHMARKS.md), else `nil`.
    private static func cDotKernel(for type: GGMLType) -> DotKernel? {
        guard let kernel = lmgate_float_dot_kernel_for(Int32(type.rawValue), Int32(LMGATE_KERNELS_AVX2)) else { return nil }
        return { row, x, _, columns in kernel(row, x, Int64(columns)) }
    }

    /// The copy `path` runs: AVX2 for the AVX2 and AVX-512 paths on x86-64,
    /// the baseline copy for the portable path and on other architectures.
    static func forPath(_ path: KernelPath) -> RowKernelVariant {
        #if arch(x86_64)
        path == .portable ? baseline : avx2
        #else
        baseline
        #endif
    }

    /// The copy the products use now (``KernelPath/active``).
    static var active: RowKernelVariant { forPath(.active) }
}
