// Rounding one 32-block of activations to signed 16-bit values, shared by
// the prompt products (PromptTokens16.c, 16 tokens interleaved), the
// decode products of the types that decode with 16-bit activations
// (IntegerDotBlocks32.c) and the logits' products (Dot16.c), the last two
// with one vector's blocks one after another. AVX2 only,
// so the AVX2 and AVX-512 VNNI kernels round a block bitwise the same.
#ifndef LMGATE_ACTIVATIONS16_H
#define LMGATE_ACTIVATIONS16_H

#include "IntegerDotShared.h"

#if defined(__x86_64__)
#include <math.h>

/// Rounds 32 activations `x` to 16 bits and stores pair k (activations
/// 2k, 2k+1) at `out + k · pair_stride` (2: the block in order; the prompt
/// kernels interleave tokens). The scale is `max|x| / 32767` (the block's
/// largest magnitude is 32767), written as `f · 2^e / 32767` with `f` in
/// [0.5, 1) so that a subnormal block still gets its own precision rather
/// than an infinite inverse (a step below 2^-126 is itself a subnormal or
/// zero `float`, so there the scale's rounding moves an activation by up
/// to 32767 · 2^-150 more); a block with a NaN or an infinity gets a NaN
/// scale (and zero quants), so its products are NaN, as in `Float`. Also
/// writes the sum of the quantized block, `scale · Σ q`, to `sum` (what
/// the weights' minimums multiply). Returns the scale.
AVX2 static inline float quantize_block16_avx2(const float *x, int16_t *out, int64_t pair_stride, float *sum) {
    __m256 v[4], largest = _mm256_setzero_ps(), unordered = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        largest = _mm256_max_ps(largest, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v[i]));
        unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q));
    }
    // `vmaxps` returns its second operand when either is NaN, so the
    // maximum alone would not see every NaN: hence `unordered`.
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(largest), _mm256_extractf128_ps(largest, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    const float amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
    float scale = 0.0f;
    __m256i q0 = _mm256_setzero_si256(), q1 = _mm256_setzero_si256();
    if (_mm256_movemask_ps(unordered) || isinf(amax)) {
        scale = NAN;
    } else if (amax > 0.0f) {
        int exponent;
        const float fraction = frexpf(amax, &exponent);
        // x · 2^-e is exact (|x| ≤ amax, so no overflow, and no underflow
        // since the result is at least |x|); then at most 32767. For blocks
        // below 2^-100, 2^-e alone would overflow a `float` (and turn the
        // quants into -32768), so it is taken in two exact steps there; a
        // multiply by 1 elsewhere, so other blocks round as before.
        const int lift = exponent < -100 ? 100 : 0;
        const __m256 first = _mm256_set1_ps(ldexpf(1.0f, lift));
        const __m256 power = _mm256_set1_ps(ldexpf(1.0f, -exponent - lift));
        const __m256 multiplier = _mm256_set1_ps(32767.0f / fraction);
        __m256i q[4];
        for (int i = 0; i < 4; ++i) {
            q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(v[i], first), power), multiplier));
        }
        // The saturating packs work within 128-bit halves; the permutation
        // puts the 64-bit groups back in order.
        q0 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
        q1 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8);
        scale = ldexpf(fraction / 32767.0f, exponent);
    }
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i pair_sums = _mm256_add_epi32(_mm256_madd_epi16(q0, ones), _mm256_madd_epi16(q1, ones));
    int32_t pairs[16], total = 0;
    _mm256_storeu_si256((__m256i *)pairs, q0);
    _mm256_storeu_si256((__m256i *)(pairs + 8), q1);
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, pair_sums);
    for (int i = 0; i < 8; ++i) total += lanes[i];
    *sum = scale * (float)total;
    for (int k = 0; k < 16; ++k) memcpy(out + k * pair_stride, &pairs[k], sizeof pairs[k]);
    return scale;
}

#endif
#endif
