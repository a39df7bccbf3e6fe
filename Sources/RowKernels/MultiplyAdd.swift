/// `self + a·b` for the kernels' vectors, fused into one rounding where this
/// copy of the row kernels is compiled for an instruction set with FMA.
///
/// Swift's `addProduct` always asks for a fused multiply-add; where the
/// target has no FMA instruction (the x86-64 baseline this module is
/// compiled for, besides its AVX2 copy `RowKernelsAVX2`), that becomes a
/// call to the C library's `fmaf` for every lane, emulated in software on a
/// CPU without FMA, far slower than a multiply and an add. There the two are
/// kept separate (one rounding more per step, well inside the kernels' error
/// bound). arm64 always has FMA.
///
/// Written for the two vector types the kernels use rather than once for
/// `SIMD`: a generic function that another file calls is not specialized in
/// the non-whole-module debug builds the tests run.
extension SIMD8 where Scalar == Float {
    @inline(__always)
    mutating func accumulate(_ a: Self, _ b: Self) {
        self = accumulating(a, b)
    }

    @inline(__always)
    func accumulating(_ a: Self, _ b: Self) -> Self {
        #if ROW_KERNELS_AVX2 || arch(arm64)
        addingProduct(a, b)
        #else
        self + a * b
        #endif
    }
}

extension SIMD4 where Scalar == Float {
    @inline(__always)
    mutating func accumulate(_ a: Self, _ b: Self) {
        #if ROW_KERNELS_AVX2 || arch(arm64)
        addProduct(a, b)
        #else
        self += a * b
        #endif
    }
}
