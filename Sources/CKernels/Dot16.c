// One-token products (and a few tokens' together) of Q8_0 rows with
// activations rounded to 16 bits per 32-block: the output projection's
// logits (``ActivationPrecision/roundedTo16Bits`` in Kernels; CKernels.h,
// "Products with 16-bit activations for the logits").
//
// Why: with `Float` activations (FloatDot.c) a 32-block costs about 17
// vector operations (shifts, four conversions, multiplies), and the kernel
// is bound by them at half the bandwidth of the 8-bit integer-dot kernel.
// Here the weights are sign-extended to 16 bits (`vpmovsxbw`) and multiplied
// in integers with the 16-bit activations (`vpdpwssd` with AVX-512 VNNI,
// `vpmaddwd` with AVX2): per block two extensions, two multiply-adds, one
// conversion, a multiply by `d` and an FMA with `s`, as few as the 8-bit
// kernel's, while the activations are 258 times finer than its.
//
// Exactness of the integer part: |w| ≤ 128 and |a| ≤ 32767, so a 32-bit
// lane (four products) stays below 2^24 and converts to `float` exactly, and
// both paths give the same lanes: their results are bitwise the same.
#include "IntegerDotShared.h"

#if defined(__x86_64__)
#include <math.h>

/// The most vectors one pass over a row multiplies (two accumulators each).
#define DOT16_TILE 4

/// The largest |x| of 32 floats, and whether one of them is a NaN.
AVX2 static inline float block_largest_avx2(const __m256 v[4], int *unordered) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 largest = _mm256_setzero_ps();
    int nan = 0;
    for (int i = 0; i < 4; ++i) {
        nan |= _mm256_movemask_ps(_mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q));
        largest = _mm256_max_ps(largest, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(largest), _mm256_extractf128_ps(largest, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    *unordered = nan;
    return _mm_cvtss_f32(m);
}

/// One vector's 32-block `x` rounded to 16 bits, in column order, to `out`;
/// returns the block's scale. The rule is the prompt kernels'
/// (`lmgate_quantize_tokens16`): the block's largest magnitude `f · 2^e`
/// (`f` in [0.5, 1)) becomes 32767 and the step is `f · 2^e / 32767`; a
/// NaN or an infinity gives a NaN scale and zero quants. Here `x · 2^−e` is
/// taken in two exact steps for blocks below 2^−100, whose `2^−e` alone
/// would overflow a `float` (and turn the quants into −32768); their quants
/// are right, but a step below 2^−126 is a subnormal or zero `float`, so
/// the scale's rounding moves an activation by up to 32767 · 2^−150 more
/// (nothing a logit can show).
AVX2 static float quantize_block16_avx2(const float *x, int16_t *out) {
    const __m256 v[4] = {_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24)};
    int unordered;
    const float largest = block_largest_avx2(v, &unordered);
    if (unordered || isinf(largest)) {
        memset(out, 0, 32 * sizeof *out);
        return NAN;
    }
    if (largest == 0.0f) {
        memset(out, 0, 32 * sizeof *out);
        return 0.0f;
    }
    int exponent;
    const float fraction = frexpf(largest, &exponent);
    // Powers of two: every product below is exact but the last, rounded
    // once, and none reaches past 32767 (|x| · 2^−e ≤ f).
    const int lift = exponent < -100 ? 100 : 0;
    const __m256 first = _mm256_set1_ps(ldexpf(1.0f, lift)), power = _mm256_set1_ps(ldexpf(1.0f, -exponent - lift));
    const __m256 multiplier = _mm256_set1_ps(32767.0f / fraction);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) {
        q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(v[i], first), power), multiplier));
    }
    // `vpackssdw` interleaves 128-bit halves; the permutation restores order.
    const __m256i low = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
    const __m256i high = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8);
    _mm256_storeu_si256((__m256i *)out, low);
    _mm256_storeu_si256((__m256i *)(out + 16), high);
    return ldexpf(fraction / 32767.0f, exponent);
}

void lmgate_quantize_vectors16(const float *x, int64_t count, int64_t n, int16_t *quants, float *scales) {
    const int64_t blocks = n / 32;
    for (int64_t v = 0; v < count; ++v) {
        for (int64_t b = 0; b < blocks; ++b) {
            scales[v * blocks + b] = quantize_block16_avx2(x + v * n + 32 * b, quants + v * n + 32 * b);
        }
    }
}

/// The eight 32-bit lanes of Σ w·a over a block's 32 weights (`w0`: 0-15,
/// `w1`: 16-31, as int16) and activations `a`.
AVX2 static inline __m256i block_products16_avx2(__m256i w0, __m256i w1, const int16_t *a) {
    return _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)a)),
                            _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(a + 16))));
}

VNNI static inline __m256i block_products16_vnni(__m256i w0, __m256i w1, const int16_t *a) {
    const __m256i first = _mm256_dpwssd_epi32(_mm256_setzero_si256(), w0, _mm256_loadu_si256((const __m256i *)a));
    return _mm256_dpwssd_epi32(first, w1, _mm256_loadu_si256((const __m256i *)(a + 16)));
}

/// One Q8_0 row times `R` (1 to ``DOT16_TILE``, a constant where inlined)
/// rounded vectors (vector v's quants at `quants + v·n`, its scales at
/// `scales + v·(n/32)`), result v to `out[v·out_stride]`. Per block: `d`
/// converted once in all lanes (`vpbroadcastw` + `vcvtph2ps`); per vector:
/// the block's integer sums times `d`, then times `s` added to one of two
/// accumulators by the block's parity. (`d · s` as a scalar product, with
/// `_cvtsh_ss`, then broadcast per vector, ran the AVX2 path at 21.5 GB/s
/// against 28.1 in L2, one core.) Every vector's arithmetic is the same
/// whatever R, so its result is bitwise the one-vector kernel's.
#define DOT16_BODY(NAME, TARGET, PRODUCTS)                                                              \
    TARGET static inline __attribute__((always_inline)) void NAME(                                      \
        const void *row, const int16_t *quants, const float *scales, int64_t n, int R, float *out,       \
        int64_t out_stride) {                                                                           \
        const uint8_t *w = row;                                                                         \
        __m256 acc0[DOT16_TILE], acc1[DOT16_TILE];                                                      \
        for (int v = 0; v < R; ++v) acc0[v] = acc1[v] = _mm256_setzero_ps();                             \
        for (int64_t b = 0; b < n / 32; ++b) {                                                          \
            const uint8_t *block = w + 34 * b;                                                          \
            const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 2)));   \
            const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 18)));  \
            const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(block)));                  \
            for (int v = 0; v < R; ++v) {                                                               \
                const __m256 products = _mm256_mul_ps(_mm256_cvtepi32_ps(PRODUCTS(w0, w1, quants + v * n + 32 * b)), d); \
                const __m256 s = _mm256_set1_ps(scales[v * (n / 32) + b]);                              \
                if (b & 1) acc1[v] = _mm256_fmadd_ps(s, products, acc1[v]);                             \
                else acc0[v] = _mm256_fmadd_ps(s, products, acc0[v]);                                   \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(_mm256_add_ps(acc0[v], acc1[v]));  \
    }

DOT16_BODY(q8_0_dot16_body_avx2, AVX2, block_products16_avx2)
DOT16_BODY(q8_0_dot16_body_vnni, VNNI, block_products16_vnni)

/// The one-vector kernel `NAME` and the several-vector kernel
/// `NAME##_vectors` (tiles of ``DOT16_TILE`` vectors, then the rest) of a body.
#define DOT16_KERNELS(NAME, TARGET, BODY)                                                                \
    TARGET static float NAME(const void *row, const int16_t *quants, const float *scales, int64_t n) { \
        float result;                                                                                   \
        BODY(row, quants, scales, n, 1, &result, 0);                                                    \
        return result;                                                                                  \
    }                                                                                                   \
    TARGET static void NAME##_vectors(const void *row, const int16_t *quants, const float *scales,     \
                                      int64_t n, int64_t count, float *out, int64_t out_stride) {       \
        int64_t v = 0;                                                                                  \
        for (; v + DOT16_TILE <= count; v += DOT16_TILE) {                                              \
            BODY(row, quants + v * n, scales + v * (n / 32), n, DOT16_TILE, out + v * out_stride,       \
                 out_stride);                                                                           \
        }                                                                                               \
        const int16_t *q = quants + v * n;                                                              \
        const float *s = scales + v * (n / 32);                                                         \
        float *o = out + v * out_stride;                                                                \
        switch (count - v) {                                                                            \
        case 3: BODY(row, q, s, n, 3, o, out_stride); break;                                            \
        case 2: BODY(row, q, s, n, 2, o, out_stride); break;                                            \
        case 1: BODY(row, q, s, n, 1, o, out_stride); break;                                            \
        default: break;                                                                                 \
        }                                                                                               \
    }

DOT16_KERNELS(q8_0_dot16_avx2, AVX2, q8_0_dot16_body_avx2)
DOT16_KERNELS(q8_0_dot16_vnni, VNNI, q8_0_dot16_body_vnni)

lmgate_dot16_kernel lmgate_dot16_kernel_for(int type, int path) {
    if (type != LMGATE_TYPE_Q8_0) return NULL;
    switch (path) {
    case LMGATE_KERNELS_AVX2: return q8_0_dot16_avx2;
    case LMGATE_KERNELS_AVX512VNNI: return q8_0_dot16_vnni;
    default: return NULL;
    }
}

lmgate_dot16_vectors_kernel lmgate_dot16_vectors_kernel_for(int type, int path) {
    if (type != LMGATE_TYPE_Q8_0) return NULL;
    switch (path) {
    case LMGATE_KERNELS_AVX2: return q8_0_dot16_avx2_vectors;
    case LMGATE_KERNELS_AVX512VNNI: return q8_0_dot16_vnni_vectors;
    default: return NULL;
    }
}

#else
void lmgate_quantize_vectors16(const float *x, int64_t count, int64_t n, int16_t *quants, float *scales) {
    (void)x; (void)count; (void)n; (void)quants; (void)scales;
}
lmgate_dot16_kernel lmgate_dot16_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
lmgate_dot16_vectors_kernel lmgate_dot16_vectors_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
#endif
