// Dot products of stored rows with `Float` activations (not quantized), for
// the products whose results must stay as exact as the weights allow (the
// output projection's logits; ``ActivationPrecision/exact`` in Kernels).
//
// Q8_0 (34 bytes: f16 d, int8 q[32]; w = d·q) with the activations in the
// order the Swift row kernels read a 32-block (ColumnOrder's byte lanes:
// position 8k + j holds element 4j + k), so that this kernel replaces
// `RowDot.q8_0` without another activation order: the block's 32 bytes are
// loaded as eight 32-bit lanes and byte k of every lane is sign-extended by
// two shifts. Per block `d · Σ q·x`, accumulated in F32. The Swift loop ran
// at about half the F32 kernel's bandwidth and its rewrites were slower
// (docs/BENCHMARKS.md); here four blocks are in flight in four accumulators.
#include "IntegerDotShared.h"

#if defined(__x86_64__)

/// Byte k (0…3) of each 32-bit lane of `words`, sign-extended, as floats.
#define SIGNED_BYTE(words, k) \
    _mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_slli_epi32((words), 24 - 8 * (k)), 24))

/// A block's F16 scale in all eight lanes: broadcast, then converted, which
/// also keeps the conversion off the accumulators (`_cvtsh_ss` merged into
/// a register the compiler had given an accumulator, so every block's scale
/// waited for that accumulator).
AVX2 static inline __m256 block_scale_avx2(const uint8_t *block) {
    return _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(block)));
}

/// One block's `d · Σ q·x` with each of `count` vectors (`stride` floats
/// apart) added to `acc[v]`: the weights converted to float once, then two
/// partial sums of 16 products per vector.
AVX2 static inline __attribute__((always_inline)) void block_dots_avx2(
    const uint8_t *block, const float *x, int64_t stride, __m256 *acc, const int count) {
    const __m256i words = _mm256_loadu_si256((const __m256i *)(block + 2));
    const __m256 q0 = SIGNED_BYTE(words, 0), q1 = SIGNED_BYTE(words, 1), q2 = SIGNED_BYTE(words, 2);
    const __m256 q3 = _mm256_cvtepi32_ps(_mm256_srai_epi32(words, 24));  // byte 3 needs no left shift
    const __m256 scale = block_scale_avx2(block);
    for (int v = 0; v < count; ++v) {
        const float *xb = x + v * stride;
        __m256 dot0 = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
        __m256 dot1 = _mm256_mul_ps(q1, _mm256_loadu_ps(xb + 8));
        dot0 = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xb + 16), dot0);
        dot1 = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xb + 24), dot1);
        acc[v] = _mm256_fmadd_ps(scale, _mm256_add_ps(dot0, dot1), acc[v]);
    }
}

/// Several vectors' products in one pass over the row: a block's weights
/// are converted to float once, in registers, and multiply-added with each
/// of the `count` vectors. Every vector's operations and their order are the
/// same whatever `count` is (four accumulators by block, the same final
/// sum), so a token's result is bitwise the same alone (`count` 1, the
/// single-vector kernel) as beside others.
/// `count` is a constant at each call site, so the arrays unroll into
/// registers (with four vectors some accumulators spill to L1, still far
/// cheaper than expanding the row into a buffer and reading it back).
AVX2 static inline __attribute__((always_inline)) void q8_0_float_dots_avx2(
    const uint8_t *w, const float *x, int64_t stride, int64_t n, float *y, int64_t y_stride, const int count) {
    const int64_t blocks = n / 32;
    __m256 acc[4][4];
    for (int k = 0; k < 4; ++k)
        for (int v = 0; v < count; ++v) acc[k][v] = _mm256_setzero_ps();
    // As in the single-vector kernel: block b of each group of four goes
    // to accumulator b % 4, the blocks after the last group to accumulator 0.
    int64_t b = 0;
    for (; b + 4 <= blocks; b += 4) {
        for (int k = 0; k < 4; ++k) block_dots_avx2(w + 34 * (b + k), x + 32 * (b + k), stride, acc[k], count);
    }
    for (; b < blocks; ++b) block_dots_avx2(w + 34 * b, x + 32 * b, stride, acc[0], count);
    for (int v = 0; v < count; ++v)
        y[v * y_stride] = sum_lanes(_mm256_add_ps(_mm256_add_ps(acc[0][v], acc[1][v]), _mm256_add_ps(acc[2][v], acc[3][v])));
}

AVX2 static float q8_0_float_dot_avx2(const void *row, const float *x, int64_t n) {
    float result;
    q8_0_float_dots_avx2(row, x, 0, n, &result, 1, 1);
    return result;
}

AVX2 static void q8_0_float_dot_vectors_avx2(
    const void *row, const float *x, int64_t stride, int64_t n, int count, float *y, int64_t y_stride) {
    switch (count) {
    case 1: q8_0_float_dots_avx2(row, x, stride, n, y, y_stride, 1); break;
    case 2: q8_0_float_dots_avx2(row, x, stride, n, y, y_stride, 2); break;
    case 3: q8_0_float_dots_avx2(row, x, stride, n, y, y_stride, 3); break;
    default: q8_0_float_dots_avx2(row, x, stride, n, y, y_stride, 4); break;
    }
}

lmgate_float_dot_kernel lmgate_float_dot_kernel_for(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    return type == LMGATE_TYPE_Q8_0 ? q8_0_float_dot_avx2 : NULL;
}

lmgate_float_dot_vectors_kernel lmgate_float_dot_vectors_kernel_for(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    return type == LMGATE_TYPE_Q8_0 ? q8_0_float_dot_vectors_avx2 : NULL;
}

#else
lmgate_float_dot_kernel lmgate_float_dot_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
lmgate_float_dot_vectors_kernel lmgate_float_dot_vectors_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
#endif
