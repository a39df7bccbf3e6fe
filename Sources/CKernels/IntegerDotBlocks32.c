// Integer-dot kernels of the 32-weight block types (layouts and the
// weights' unpacking in Blocks32Weights.h).
#include "IntegerDotShared.h"
#include "Blocks32Weights.h"

#if defined(__x86_64__)

/// Signed weights: per block, the integer Σ w·a of the weight bytes
/// (`WEIGHTS`) and activation bytes, times the two scales.
#define BLOCKS32_BODY(NAME, TARGET, BLOCK_BYTES, WEIGHTS, PRODUCTS)                                     \
    BODY_SIGNATURE(NAME, TARGET) {                                                                      \
        (void)sums;                                                                                     \
        const uint8_t *w = row;                                                                         \
        __m256 acc0[VECTOR_TILE], acc1[VECTOR_TILE];                                                    \
        for (int v = 0; v < R; ++v) acc0[v] = acc1[v] = _mm256_setzero_ps();                            \
        for (int64_t b = 0; b < n / 32; ++b) {                                                          \
            const uint8_t *block = w + (BLOCK_BYTES) * b;                                               \
            const __m256i q = WEIGHTS(block);                                                           \
            const __m256i wabs = weight_magnitudes(q);                                                  \
            const float weight_scale = f16_to_float(block);                                             \
            for (int v = 0; v < R; ++v) {                                                               \
                const __m256i a = _mm256_loadu_si256((const __m256i *)(quants + v * n + 32 * b));       \
                const __m256 products = _mm256_cvtepi32_ps(PRODUCTS(wabs, signed_activations(a, q)));   \
                const __m256 d = _mm256_set1_ps(weight_scale * scales[v * (n / 32) + b]);               \
                /* Alternate accumulators so consecutive blocks do not wait on each other. */           \
                if (b & 1) acc1[v] = _mm256_fmadd_ps(d, products, acc1[v]);                             \
                else acc0[v] = _mm256_fmadd_ps(d, products, acc0[v]);                                   \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(_mm256_add_ps(acc0[v], acc1[v]));  \
    }

/// Unsigned values with a minimum (Q4_1, Q5_1): per block,
/// `d·s·Σ q·a + m·s·Σ a`, the second sum the activation block's. The
/// activations' width is the parameters': `SIGNATURE` (``BODY_SIGNATURE``
/// or ``BODY16_SIGNATURE``), `UNPACK(block)` (the weights as `PRODUCTS`
/// reads them, unpacked once for every vector), `PRODUCTS(weights,
/// activations)` (the eight 32-bit lanes of Σ q·a, the block's activations
/// in memory) and `MINIMUM(m, s, v, b)` (`m·s·Σ a` of vector v's block b).
#define BLOCKS32_MINIMUM_BODY_OF(NAME, TARGET, SIGNATURE, BLOCK_BYTES, UNPACK, PRODUCTS, MINIMUM)       \
    SIGNATURE(NAME, TARGET) {                                                                           \
        const uint8_t *w = row;                                                                         \
        __m256 acc0[VECTOR_TILE], acc1[VECTOR_TILE];                                                    \
        float minimums[VECTOR_TILE];                                                                    \
        for (int v = 0; v < R; ++v) {                                                                   \
            acc0[v] = acc1[v] = _mm256_setzero_ps();                                                    \
            minimums[v] = 0;                                                                            \
        }                                                                                               \
        for (int64_t b = 0; b < n / 32; ++b) {                                                          \
            const uint8_t *block = w + (BLOCK_BYTES) * b;                                               \
            const __auto_type weights = UNPACK(block);                                                  \
            const float weight_scale = f16_to_float(block), weight_minimum = f16_to_float(block + 2);   \
            for (int v = 0; v < R; ++v) {                                                               \
                const float scale = scales[v * (n / 32) + b];                                           \
                const __m256 products = _mm256_cvtepi32_ps(PRODUCTS(weights, quants + v * n + 32 * b)); \
                const __m256 d = _mm256_set1_ps(weight_scale * scale);                                  \
                minimums[v] += MINIMUM(weight_minimum, scale, v, b);                                    \
                if (b & 1) acc1[v] = _mm256_fmadd_ps(d, products, acc1[v]);                             \
                else acc0[v] = _mm256_fmadd_ps(d, products, acc0[v]);                                   \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) {                                                                   \
            out[v * out_stride] = sum_lanes(_mm256_add_ps(acc0[v], acc1[v])) + minimums[v];             \
        }                                                                                               \
    }

/// 8-bit activations: their sums are the integer Σ q of each block.
#define BYTES_MINIMUM(M, S, V, B) ((M) * (S) * (float)sums[(V) * (n / 16) + (B)])
/// 16-bit activations: their sums are `Float`, the scale included.
#define HALFWORDS_MINIMUM(M, S, V, B) ((M) * sums[(V) * (n / 32) + (B)])

/// With 8-bit activations, the values as bytes.
#define BLOCKS32_MINIMUM_BODY(NAME, TARGET, BLOCK_BYTES, VALUES, PRODUCTS)                              \
    BLOCKS32_MINIMUM_BODY_OF(NAME, TARGET, BODY_SIGNATURE, BLOCK_BYTES, VALUES, PRODUCTS, BYTES_MINIMUM)

/// With 16-bit activations, the values widened to 16 bits (``weights16``).
#define BLOCKS32_MINIMUM16_BODY(NAME, TARGET, BLOCK_BYTES, WIDENED, PRODUCTS)                           \
    BLOCKS32_MINIMUM_BODY_OF(NAME, TARGET, BODY16_SIGNATURE, BLOCK_BYTES, WIDENED, PRODUCTS, HALFWORDS_MINIMUM)

/// ``block_products_avx2`` and ``block_products_vnni`` of a block's
/// activation bytes in memory.
AVX2 static inline __m256i loaded_products_avx2(__m256i q, const int8_t *a) {
    return block_products_avx2(q, _mm256_loadu_si256((const __m256i *)a));
}

VNNI static inline __m256i loaded_products_vnni(__m256i q, const int8_t *a) {
    return block_products_vnni(q, _mm256_loadu_si256((const __m256i *)a));
}

AVX2 static inline weights16 widened_q4_1(const uint8_t *block) { return widen_weights16(values_q4_1(block)); }

BLOCKS32_BODY(q8_0_avx2, AVX2, 34, weights_q8_0, block_products_avx2)
BLOCKS32_BODY(q8_0_vnni, VNNI, 34, weights_q8_0, block_products_vnni)
BLOCKS32_BODY(q4_0_avx2, AVX2, 18, weights_q4_0, block_products_avx2)
BLOCKS32_BODY(q4_0_vnni, VNNI, 18, weights_q4_0, block_products_vnni)
BLOCKS32_BODY(q5_0_avx2, AVX2, 22, weights_q5_0, block_products_avx2)
BLOCKS32_BODY(q5_0_vnni, VNNI, 22, weights_q5_0, block_products_vnni)
BLOCKS32_BODY(iq4_nl_avx2, AVX2, 18, weights_iq4_nl, block_products_avx2)
BLOCKS32_BODY(iq4_nl_vnni, VNNI, 18, weights_iq4_nl, block_products_vnni)
BLOCKS32_MINIMUM16_BODY(q4_1_avx2, AVX2, 20, widened_q4_1, block_products16_avx2)
BLOCKS32_MINIMUM16_BODY(q4_1_vnni, VNNI, 20, widened_q4_1, block_products16_vnni)
BLOCKS32_MINIMUM_BODY(q5_1_avx2, AVX2, 24, values_q5_1, loaded_products_avx2)
BLOCKS32_MINIMUM_BODY(q5_1_vnni, VNNI, 24, values_q5_1, loaded_products_vnni)

DOT_KERNELS(dot_q8_0_avx2, AVX2, q8_0_avx2)
DOT_KERNELS(dot_q8_0_vnni, VNNI, q8_0_vnni)
DOT_KERNELS(dot_q4_0_avx2, AVX2, q4_0_avx2)
DOT_KERNELS(dot_q4_0_vnni, VNNI, q4_0_vnni)
DOT_KERNELS(dot_q5_0_avx2, AVX2, q5_0_avx2)
DOT_KERNELS(dot_q5_0_vnni, VNNI, q5_0_vnni)
DOT_KERNELS(dot_iq4_nl_avx2, AVX2, iq4_nl_avx2)
DOT_KERNELS(dot_iq4_nl_vnni, VNNI, iq4_nl_vnni)
DOT16_KERNELS(dot_q4_1_avx2, AVX2, q4_1_avx2)
DOT16_KERNELS(dot_q4_1_vnni, VNNI, q4_1_vnni)
DOT_KERNELS(dot_q5_1_avx2, AVX2, q5_1_avx2)
DOT_KERNELS(dot_q5_1_vnni, VNNI, q5_1_vnni)

lmgate_dot_kernel lmgate_blocks32_kernel(int type, int vnni) {
    switch (type) {
    case LMGATE_TYPE_Q8_0: return vnni ? dot_q8_0_vnni : dot_q8_0_avx2;
    case LMGATE_TYPE_Q4_0: return vnni ? dot_q4_0_vnni : dot_q4_0_avx2;
    case LMGATE_TYPE_Q5_0: return vnni ? dot_q5_0_vnni : dot_q5_0_avx2;
    case LMGATE_TYPE_IQ4_NL: return vnni ? dot_iq4_nl_vnni : dot_iq4_nl_avx2;
    case LMGATE_TYPE_Q5_1: return vnni ? dot_q5_1_vnni : dot_q5_1_avx2;
    default: return NULL;
    }
}

lmgate_dot_vectors_kernel lmgate_blocks32_vectors_kernel(int type, int vnni) {
    switch (type) {
    case LMGATE_TYPE_Q8_0: return vnni ? dot_q8_0_vnni_vectors : dot_q8_0_avx2_vectors;
    case LMGATE_TYPE_Q4_0: return vnni ? dot_q4_0_vnni_vectors : dot_q4_0_avx2_vectors;
    case LMGATE_TYPE_Q5_0: return vnni ? dot_q5_0_vnni_vectors : dot_q5_0_avx2_vectors;
    case LMGATE_TYPE_IQ4_NL: return vnni ? dot_iq4_nl_vnni_vectors : dot_iq4_nl_avx2_vectors;
    case LMGATE_TYPE_Q5_1: return vnni ? dot_q5_1_vnni_vectors : dot_q5_1_avx2_vectors;
    default: return NULL;
    }
}

/// Q4_1 decodes with 16-bit activations: with 8-bit ones (as llama.cpp's
/// Q8_1) the fixture's decode disagreed with the exact top-1 token at 3 of
/// 80 positions where llama.cpp's does at 2 (issue 13); Q4_0, Q5_0 and
/// Q5_1 stayed within llama.cpp's and keep the 8-bit kernels above.
lmgate_dot16_kernel lmgate_blocks32_dot16_kernel(int type, int vnni) {
    switch (type) {
    case LMGATE_TYPE_Q4_1: return vnni ? dot_q4_1_vnni : dot_q4_1_avx2;
    default: return NULL;
    }
}

lmgate_dot16_vectors_kernel lmgate_blocks32_dot16_vectors_kernel(int type, int vnni) {
    switch (type) {
    case LMGATE_TYPE_Q4_1: return vnni ? dot_q4_1_vnni_vectors : dot_q4_1_avx2_vectors;
    default: return NULL;
    }
}

#endif
