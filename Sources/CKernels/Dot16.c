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
#include "Activations16.h"

// The activations are rounded by `lmgate_quantize_blocks32_16`
// (Activations16.h, the rule every 16-bit product shares); Q8_0 has no
// minimum, so the kernels take the block sums it writes and leave them.
#if defined(__x86_64__)

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

/// One Q8_0 row times `R` (1 to ``VECTOR_TILE``, a constant where inlined)
/// rounded vectors (vector v's quants at `quants + v·n`, its scales at
/// `scales + v·(n/32)`), result v to `out[v·out_stride]`. Per block: `d`
/// converted once in all lanes (`vpbroadcastw` + `vcvtph2ps`); per vector:
/// the block's integer sums times `d`, then times `s` added to one of two
/// accumulators by the block's parity. (`d · s` as a scalar product, with
/// `_cvtsh_ss`, then broadcast per vector, ran the AVX2 path at 21.5 GB/s
/// against 28.1 in L2, one core.) Every vector's arithmetic is the same
/// whatever R, so its result is bitwise the one-vector kernel's.
#define DOT16_BODY(NAME, TARGET, PRODUCTS)                                                              \
    BODY16_SIGNATURE(NAME, TARGET) {                                                                    \
        (void)sums;                                                                                     \
        const uint8_t *w = row;                                                                         \
        __m256 acc0[VECTOR_TILE], acc1[VECTOR_TILE];                                                      \
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

/// The kernels, by IntegerDotShared.h's ``DOT16_KERNELS`` (the sums unused).
DOT16_KERNELS(q8_0_dot16_avx2, AVX2, q8_0_dot16_body_avx2)
DOT16_KERNELS(q8_0_dot16_vnni, VNNI, q8_0_dot16_body_vnni)

lmgate_dot16_kernel lmgate_logits16_kernel(int type, int path) {
    if (type != LMGATE_TYPE_Q8_0) return NULL;
    switch (path) {
    case LMGATE_KERNELS_AVX2: return q8_0_dot16_avx2;
    case LMGATE_KERNELS_AVX512VNNI: return q8_0_dot16_vnni;
    default: return NULL;
    }
}

lmgate_dot16_vectors_kernel lmgate_logits16_vectors_kernel(int type, int path) {
    if (type != LMGATE_TYPE_Q8_0) return NULL;
    switch (path) {
    case LMGATE_KERNELS_AVX2: return q8_0_dot16_avx2_vectors;
    case LMGATE_KERNELS_AVX512VNNI: return q8_0_dot16_vnni_vectors;
    default: return NULL;
    }
}

#else
lmgate_dot16_kernel lmgate_logits16_kernel(int type, int path) { (void)type; (void)path; return NULL; }
lmgate_dot16_vectors_kernel lmgate_logits16_vectors_kernel(int type, int path) { (void)type; (void)path; return NULL; }
#endif
