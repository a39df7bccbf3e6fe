// One-token products (and a few tokens' together) with activations rounded
// to 16 bits per 32-block: the output projection's logits
// (``ActivationPrecision/roundedTo16Bits`` in Kernels; CKernels.h,
// "Products with 16-bit activations for the logits"), for Q8_0 and Q6_K
// rows here, Q4_1 rows by its decode kernels (IntegerDotBlocks32.c, the
// same activation layout).
//
// Why: with `Float` activations (FloatDot.c, the Swift row kernels) a
// 32-block costs about 17 vector operations (shifts, four conversions,
// multiplies), and the kernel is bound by them at a quarter to half the
// bandwidth of the 8-bit integer-dot kernel. Here the weights are widened
// to 16 bits (Blocks32Weights.h's ``weights16``) and multiplied in integers
// with the 16-bit activations (`vpdpwssd` with AVX-512 VNNI, `vpmaddwd` with
// AVX2): per block and vector two multiply-adds, one conversion, a multiply
// by `d` and an FMA with `s`, as few as the 8-bit kernel's, while the
// activations are 258 times finer than its.
//
// Exactness of the integer part (``block_products16_avx2``: a 32-bit lane
// adds four products of a widened weight and an activation, |a| ≤ 32767):
// - Q8_0: |w| ≤ 128, so a lane stays below 2^24 and converts to `float`
//   exactly.
// - Q6_K: the widened weight is `scale · (q − 32)` with the int8 sub-scale
//   of its 16 weights folded in (|scale| ≤ 128, −32 ≤ q − 32 ≤ 31, so
//   |w| ≤ 4096, within int16, and `vpmaddwd`'s pairs below 2^28), so a lane
//   stays below 4 · 4096 · 32767 < 2^29: exact in int32, and its conversion
//   to `float` rounds by at most 2^-24 of the lane (as a `Float` product of
//   the same terms would), less than the bound's 1e-5 · Σ|w·x|. Folding
//   the sub-scale into the weights (one `vpmullw` per 16 weights, shared by
//   every vector) keeps the per-vector work at the Q8_0 kernel's.
// Both paths compute the same integer lanes and the same `float`
// operations, so their results are bitwise the same.
#include "Activations16.h"
#include "Blocks32Weights.h"

// The activations are rounded by `lmgate_quantize_blocks32_16`
// (Activations16.h, the rule every 16-bit product shares); Q8_0 and Q6_K
// have no minimum, so the kernels take the block sums it writes and leave
// them.
#if defined(__x86_64__)

/// Q8_0's unit of weights: one 32-block (34 bytes: f16 d, int8 q[32]),
/// sign-extended to 16 bits; `d` in all lanes (`vpbroadcastw` +
/// `vcvtph2ps`).
#define Q8_0_UNIT_BLOCKS 1
AVX2 static inline void q8_0_unit(const uint8_t *row, int64_t unit, weights16 w[1], __m256 *d) {
    const uint8_t *block = row + 34 * unit;
    w[0] = widen_weights16(weights_q8_0(block));
    *d = _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(block)));
}

/// Q6_K's unit: half a 210-byte super-block (IntegerDotSuperBlocks.c), its
/// four 32-blocks as `scale · (q − 32)` in 16 bits (|·| ≤ 4096, the bound
/// above), `scale` the int8 sub-scale of each 16 weights; `d` in all lanes.
#define Q6_K_UNIT_BLOCKS 4
AVX2 static inline void q6_K_unit(const uint8_t *row, int64_t unit, weights16 w[4], __m256 *d) {
    const uint8_t *block = row + 210 * (unit / 2);
    const int half = (int)(unit % 2);
    // The half's eight sub-scales as int16 in both 128-bit lanes; sub-scale
    // k goes to all lanes by a `vpshufb` of its two bytes (2k, 2k+1): one
    // instruction where `_mm256_set1_epi16` of a loaded byte took three.
    const __m256i factors =
        _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(block + 192 + 8 * half))));
    const __m256i offset = _mm256_set1_epi8(32);
    __m256i q[4];
    q6_K_values(block, half, q);
    for (int j = 0; j < 4; ++j) {
        // q − 32 in bytes (−32…31), then sign-extended.
        const __m256i values = _mm256_sub_epi8(q[j], offset);
        const __m256i low = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(values));
        const __m256i high = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(values, 1));
        w[j].low = _mm256_mullo_epi16(low, _mm256_shuffle_epi8(factors, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j)))));
        w[j].high = _mm256_mullo_epi16(high, _mm256_shuffle_epi8(factors, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j + 1)))));
    }
    *d = _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(block + 208)));
}

/// One row times `R` (1 to ``VECTOR_TILE``, a constant where inlined)
/// rounded vectors (vector v's quants at `quants + v·n`, its scales at
/// `scales + v·(n/32)`), result v to `out[v·out_stride]`. The row is read
/// in units of `BLOCKS` 32-blocks, widened once for every vector by
/// `UNIT(row, unit, weights, &d)`; per block and vector: the integer sums
/// times `d`, then times `s` added to one of two accumulators by the
/// block's parity. (`d · s` as a scalar product, with `_cvtsh_ss`, then
/// broadcast per vector, ran the Q8_0 AVX2 path at 21.5 GB/s against 28.1
/// in L2, one core.) Every vector's arithmetic is the same whatever R, so
/// its result is bitwise the one-vector kernel's.
#define DOT16_BODY(NAME, TARGET, BLOCKS, UNIT, PRODUCTS)                                                \
    BODY16_SIGNATURE(NAME, TARGET) {                                                                    \
        (void)sums;                                                                                     \
        __m256 acc0[VECTOR_TILE], acc1[VECTOR_TILE];                                                    \
        for (int v = 0; v < R; ++v) acc0[v] = acc1[v] = _mm256_setzero_ps();                            \
        for (int64_t unit = 0; unit < n / (32 * (BLOCKS)); ++unit) {                                    \
            weights16 w[BLOCKS];                                                                        \
            __m256 d;                                                                                   \
            UNIT((const uint8_t *)row, unit, w, &d);                                                    \
            for (int k = 0; k < (BLOCKS); ++k) {                                                        \
                const int64_t b = unit * (BLOCKS) + k;                                                  \
                for (int v = 0; v < R; ++v) {                                                           \
                    const __m256 products = _mm256_mul_ps(_mm256_cvtepi32_ps(PRODUCTS(w[k], quants + v * n + 32 * b)), d); \
                    const __m256 s = _mm256_set1_ps(scales[v * (n / 32) + b]);                          \
                    if (b & 1) acc1[v] = _mm256_fmadd_ps(s, products, acc1[v]);                         \
                    else acc0[v] = _mm256_fmadd_ps(s, products, acc0[v]);                               \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(_mm256_add_ps(acc0[v], acc1[v]));  \
    }

DOT16_BODY(q8_0_dot16_body_avx2, AVX2, Q8_0_UNIT_BLOCKS, q8_0_unit, block_products16_avx2)
DOT16_BODY(q8_0_dot16_body_vnni, VNNI, Q8_0_UNIT_BLOCKS, q8_0_unit, block_products16_vnni)
DOT16_BODY(q6_K_dot16_body_avx2, AVX2, Q6_K_UNIT_BLOCKS, q6_K_unit, block_products16_avx2)
DOT16_BODY(q6_K_dot16_body_vnni, VNNI, Q6_K_UNIT_BLOCKS, q6_K_unit, block_products16_vnni)

/// The kernels, by IntegerDotShared.h's ``DOT16_KERNELS`` (the sums unused).
DOT16_KERNELS(q8_0_dot16_avx2, AVX2, q8_0_dot16_body_avx2)
DOT16_KERNELS(q8_0_dot16_vnni, VNNI, q8_0_dot16_body_vnni)
DOT16_KERNELS(q6_K_dot16_avx2, AVX2, q6_K_dot16_body_avx2)
DOT16_KERNELS(q6_K_dot16_vnni, VNNI, q6_K_dot16_body_vnni)

lmgate_dot16_kernel lmgate_logits16_kernel(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    const int vnni = path == LMGATE_KERNELS_AVX512VNNI;
    switch (type) {
    case LMGATE_TYPE_Q8_0: return vnni ? q8_0_dot16_vnni : q8_0_dot16_avx2;
    case LMGATE_TYPE_Q6_K: return vnni ? q6_K_dot16_vnni : q6_K_dot16_avx2;
    // Q4_1 decodes with 16-bit activations in the same layout (quants,
    // scales and `Float` sums per 32-block): its decode kernels serve.
    case LMGATE_TYPE_Q4_1: return lmgate_blocks32_dot16_kernel(type, vnni);
    default: return NULL;
    }
}

lmgate_dot16_vectors_kernel lmgate_logits16_vectors_kernel(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    const int vnni = path == LMGATE_KERNELS_AVX512VNNI;
    switch (type) {
    case LMGATE_TYPE_Q8_0: return vnni ? q8_0_dot16_vnni_vectors : q8_0_dot16_avx2_vectors;
    case LMGATE_TYPE_Q6_K: return vnni ? q6_K_dot16_vnni_vectors : q6_K_dot16_avx2_vectors;
    case LMGATE_TYPE_Q4_1: return lmgate_blocks32_dot16_vectors_kernel(type, vnni);
    default: return NULL;
    }
}

#else
lmgate_dot16_kernel lmgate_logits16_kernel(int type, int path) { (void)type; (void)path; return NULL; }
lmgate_dot16_vectors_kernel lmgate_logits16_vectors_kernel(int type, int path) { (void)type; (void)path; return NULL; }
#endif
