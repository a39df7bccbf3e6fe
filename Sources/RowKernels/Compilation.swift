/// Which copy of the row kernels this is.
///
/// The files of this folder are compiled twice: as `RowKernels`, for the
/// target's baseline CPU (x86-64 without AVX, or arm64), and, through the
/// symbolic link `Sources/RowKernelsAVX2`, as `RowKernelsAVX2` with
/// `-target-cpu haswell` (AVX2, FMA, F16C). The two modules' names make
/// every symbol distinct, so the linker keeps both copies; the Kernels
/// target picks one per product by ``KernelPath``, after checking the CPU.
/// Nothing in `RowKernelsAVX2` may run before that check.
public enum RowKernelsCompilation {
    /// `"avx2"` for the AVX2 copy, `"baseline"` for the other.
    #if ROW_KERNELS_AVX2
    public static let instructionSet = "avx2"
    #else
    public static let instructionSet = "baseline"
    #endif
}
