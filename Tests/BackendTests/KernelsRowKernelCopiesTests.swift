import Testing

@testable import Kernels

/// The row kernels are compiled twice (baseline and AVX2, Package.swift);
/// each path must run its own copy, and the copies must stay distinct code
/// in the linked binary: an earlier attempt let the linker keep one copy of
/// same-named symbols, and every path silently ran the baseline code.
@Suite("Kernels: copies of the row kernels")
struct KernelsRowKernelCopiesTests {
    @Test("each path runs the copy compiled for it; the best path of this CPU its fastest copy")
    func pathsChooseTheirCopy() {
        #expect(RowKernelVariant.forPath(.portable).instructionSet == "baseline")
        #if arch(x86_64)
        #expect(RowKernelVariant.forPath(.avx2).instructionSet == "avx2")
        #expect(RowKernelVariant.forPath(.avx512vnni).instructionSet == "avx2")
        let expected = KernelsPathTests.pathsFromCPUInfo().contains(.avx2) ? "avx2" : "baseline"
        #expect(RowKernelVariant.forPath(KernelPath.best).instructionSet == expected)
        #else
        for path in KernelPath.allCases {
            #expect(RowKernelVariant.forPath(path).instructionSet == "baseline")
        }
        #endif
    }

    /// A row whose dot product depends on whether a multiply-add is fused:
    /// `(1 + 2⁻¹²)²` is `1 + 2⁻¹¹ + 2⁻²⁴`, which a separate multiply rounds
    /// to `1 + 2⁻¹¹`; added to `−(1 + 2⁻¹¹)` (an earlier product in the same
    /// accumulator: columns 0 and 32), a fused multiply-add leaves `2⁻²⁴`,
    /// a multiply and an add leave 0. Only the AVX2 copy is compiled with FMA.
    @Test("the AVX2 copy is its own machine code: it fuses multiply-adds, the baseline copy does not",
          .enabled(if: KernelPath.avx2.isSupported))
    func copiesAreDistinctCode() {
        let a: Float = 1 + 0x1p-12
        var row = [Float](repeating: 0, count: 64), x = [Float](repeating: 0, count: 64)
        row[0] = -(1 + 0x1p-11)
        x[0] = 1
        row[32] = a
        x[32] = a
        func dot(_ variant: RowKernelVariant) -> Float {
            row.withUnsafeBytes { row in x.withUnsafeBufferPointer { variant.f32(row.baseAddress!, $0.baseAddress!, 64) } }
        }
        #expect(dot(.baseline) == 0)
        #if arch(x86_64)
        #expect(dot(.avx2) == 0x1p-24)
        #endif
    }
}
