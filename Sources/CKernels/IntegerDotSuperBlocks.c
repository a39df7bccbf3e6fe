// Integer-dot kernels of the 256-weight super-block types (not Q2_K: with
// 8-bit activations its 2-bit weights disagreed with the exact top-1 token
// on 4 of the compact fixture's 80 steps, against llama.cpp's 2, so it stays
// on the Float kernel), whose
// activations come in one 256-block (one scale, sums of every 16 quants).
// Layouts (ggml-common.h); sub-block s holds weights 32s…32s+31:
// - Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for
//   the eight sub-blocks, q[128] nibbles (group g of 64 weights: the low
//   nibbles of bytes 32g… are sub-block 2g, the high ones 2g + 1);
//   w = d·scale·q − dmin·min.
// - Q5_K, 176 bytes: as Q4_K with qh[32] after the scales (before q): bit s
//   of qh[l] is the fifth bit of weight l of sub-block s.
// - Q6_K, 210 bytes: ql[128] low nibbles, qh[64] high two bits, int8
//   scales[16] (one per 16 weights), f16 d; w = d·scale·(q − 32).
// - Q3_K, 110 bytes: hmask[32], q[64], 12 bytes of sixteen 6-bit scales
//   (stored + 32), f16 d. Weight l of sub-block s: the two bits at
//   2·(s mod 4) of q[32·(s/4) + l], minus 4 unless bit s of hmask[l] is set;
//   w = d·scale·q, one scale per 16 weights.
// - IQ4_XS, 136 bytes: f16 d, u16 scales_h, scales_l[4], q[128]: sub-block s
//   has the 6-bit scale ls (low 4 bits nibble s mod 2 of scales_l[s/2], high
//   2 bits at 2s of scales_h) and 16 bytes of nibbles as IQ4_NL's;
//   w = d·(ls − 32)·table[q].
#include "IntegerDotShared.h"

#if defined(__x86_64__)

/// Σ_s min[s] · (sum of the activations of sub-block s), in integers.
static inline int q4_K_minimum_terms(const int minimum[8], const int16_t *sums) {
    int total = 0;
    for (int s = 0; s < 8; ++s) total += minimum[s] * (sums[2 * s] + sums[2 * s + 1]);
    return total;
}

/// Q4_K and Q5_K. `HIGH_BITS` is 1 for Q5_K, whose fifth bits (qh at byte
/// 16) come before the nibbles. `PRODUCTS(values, activations, scale)`
/// returns the eight 32-bit lanes of Σ scale · q · a over 32 weights.
#define K_BODY(NAME, TARGET, BLOCK_BYTES, HIGH_BITS, PRODUCTS)                                          \
    BODY_SIGNATURE(NAME, TARGET) {                                                                      \
        const uint8_t *w = row;                                                                         \
        const __m256i low_mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);                     \
        const int nibble_offset = (HIGH_BITS) ? 48 : 16;                                                \
        __m256 acc[VECTOR_TILE];                                                                        \
        float minimums[VECTOR_TILE];                                                                    \
        for (int v = 0; v < R; ++v) {                                                                   \
            acc[v] = _mm256_setzero_ps();                                                               \
            minimums[v] = 0;                                                                            \
        }                                                                                               \
        for (int64_t b = 0; b < n / 256; ++b) {                                                         \
            const uint8_t *block = w + (BLOCK_BYTES) * b;                                               \
            int scale[8], minimum[8];                                                                   \
            q4_K_scales(block + 4, scale, minimum);                                                     \
            const float weight_scale = f16_to_float(block), weight_minimum = f16_to_float(block + 2);   \
            __m256i total[VECTOR_TILE];                                                                 \
            for (int v = 0; v < R; ++v) {                                                               \
                minimums[v] += weight_minimum * scales[v * (n / 32) + b] *                              \
                               (float)q4_K_minimum_terms(minimum, sums + v * (n / 16) + 16 * b);        \
                total[v] = _mm256_setzero_si256();                                                      \
            }                                                                                           \
            __m256i high_bits = _mm256_setzero_si256();                                                 \
            if (HIGH_BITS) high_bits = _mm256_loadu_si256((const __m256i *)(block + 16));               \
            for (int g = 0; g < 4; ++g) {                                                               \
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(block + nibble_offset + 32 * g)); \
                __m256i low = _mm256_and_si256(bytes, low_mask);                                        \
                __m256i high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);                 \
                if (HIGH_BITS) {                                                                        \
                    /* Bit 2g (2g + 1) of each byte to bit 4: masked to bit 0 first, so the 16-bit */   \
                    /* shifts never carry a bit into the next byte. */                                  \
                    low = _mm256_or_si256(low, _mm256_slli_epi16(                                       \
                        _mm256_and_si256(_mm256_srli_epi16(high_bits, 2 * g), one), 4));                \
                    high = _mm256_or_si256(high, _mm256_slli_epi16(                                     \
                        _mm256_and_si256(_mm256_srli_epi16(high_bits, 2 * g + 1), one), 4));            \
                }                                                                                       \
                for (int v = 0; v < R; ++v) {                                                           \
                    const int8_t *a = quants + v * n + 256 * b + 64 * g;                                \
                    const __m256i a0 = _mm256_loadu_si256((const __m256i *)a);                          \
                    const __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + 32));                   \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(low, a0, scale[2 * g]));             \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(high, a1, scale[2 * g + 1]));        \
                }                                                                                       \
            }                                                                                           \
            for (int v = 0; v < R; ++v) {                                                               \
                acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(weight_scale * scales[v * (n / 32) + b]),       \
                                         _mm256_cvtepi32_ps(total[v]), acc[v]);                         \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(acc[v]) - minimums[v];              \
    }

K_BODY(q4_K_avx2, AVX2, 144, 0, scaled_products_avx2)
K_BODY(q4_K_vnni, VNNI, 144, 0, scaled_products_vnni)
K_BODY(q5_K_avx2, AVX2, 176, 1, scaled_products_avx2)
K_BODY(q5_K_vnni, VNNI, 176, 1, scaled_products_vnni)
DOT_KERNELS(dot_q4_K_avx2, AVX2, q4_K_avx2)
DOT_KERNELS(dot_q4_K_vnni, VNNI, q4_K_vnni)
DOT_KERNELS(dot_q5_K_avx2, AVX2, q5_K_avx2)
DOT_KERNELS(dot_q5_K_vnni, VNNI, q5_K_vnni)

/// Σ_k scale[k] · (sum of the activations of 16-weight group k).
static inline int scaled_group_sums(const int scale[16], const int16_t *sums) {
    int total = 0;
    for (int k = 0; k < 16; ++k) total += scale[k] * sums[k];
    return total;
}

/// Q6_K. `PRODUCTS(values, activations, first, second)`: the eight 32-bit
/// lanes of Σ scale · q · a over 32 weights, the first 16 with scale
/// `first`. The stored values are q + 32, so 32 · Σ scale · (group sum)
/// comes off the product.
#define Q6_K_BODY(NAME, TARGET, PRODUCTS)                                                               \
    BODY_SIGNATURE(NAME, TARGET) {                                                                      \
        const uint8_t *w = row;                                                                         \
        __m256 acc[VECTOR_TILE];                                                                        \
        float offsets[VECTOR_TILE];                                                                     \
        for (int v = 0; v < R; ++v) {                                                                   \
            acc[v] = _mm256_setzero_ps();                                                               \
            offsets[v] = 0;                                                                             \
        }                                                                                               \
        for (int64_t b = 0; b < n / 256; ++b) {                                                         \
            const uint8_t *block = w + 210 * b;                                                         \
            const int8_t *stored = (const int8_t *)(block + 192);                                       \
            int scale[16];                                                                              \
            for (int k = 0; k < 16; ++k) scale[k] = stored[k];                                          \
            const float weight_scale = f16_to_float(block + 208);                                       \
            float d[VECTOR_TILE];                                                                       \
            __m256i total[VECTOR_TILE];                                                                 \
            for (int v = 0; v < R; ++v) {                                                               \
                d[v] = weight_scale * scales[v * (n / 32) + b];                                         \
                offsets[v] += d[v] * 32.0f * (float)scaled_group_sums(scale, sums + v * (n / 16) + 16 * b); \
                total[v] = _mm256_setzero_si256();                                                      \
            }                                                                                           \
            for (int half = 0; half < 2; ++half) {                                                      \
                const int *s = scale + 8 * half;                                                        \
                __m256i q[4];                                                                           \
                q6_K_values(block, half, q);                                                            \
                for (int v = 0; v < R; ++v) {                                                           \
                    const int8_t *a = quants + v * n + 256 * b + 128 * half;                            \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(q[0], _mm256_loadu_si256((const __m256i *)a), s[0], s[1]));        \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(q[1], _mm256_loadu_si256((const __m256i *)(a + 32)), s[2], s[3])); \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(q[2], _mm256_loadu_si256((const __m256i *)(a + 64)), s[4], s[5])); \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(q[3], _mm256_loadu_si256((const __m256i *)(a + 96)), s[6], s[7])); \
                }                                                                                       \
            }                                                                                           \
            for (int v = 0; v < R; ++v) {                                                               \
                acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(d[v]), _mm256_cvtepi32_ps(total[v]), acc[v]);   \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(acc[v]) - offsets[v];               \
    }

Q6_K_BODY(q6_K_avx2, AVX2, split_scaled_products_avx2)
Q6_K_BODY(q6_K_vnni, VNNI, split_scaled_products_vnni)
DOT_KERNELS(dot_q6_K_avx2, AVX2, q6_K_avx2)
DOT_KERNELS(dot_q6_K_vnni, VNNI, q6_K_vnni)

/// Q3_K's sixteen scales minus 32. Scale i has its low 4 bits in nibble
/// i/8 of byte i mod 8 and its high 2 bits at bit 2·(i/4) of byte 8 + i mod 4.
static inline void q3_K_scales(const uint8_t *packed, int scale[16]) {
    for (int i = 0; i < 16; ++i) {
        const int low = (packed[i % 8] >> (4 * (i / 8))) & 0x0F;
        const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 0x03;
        scale[i] = (low | (high << 4)) - 32;
    }
}

/// Q3_K: the signed values q − 4·(hmask bit clear), −4…3, through the
/// sign trick of the signed 32-block types.
#define Q3_K_BODY(NAME, TARGET, PRODUCTS)                                                               \
    BODY_SIGNATURE(NAME, TARGET) {                                                                      \
        (void)sums;                                                                                     \
        const uint8_t *w = row;                                                                         \
        const __m256i m2 = _mm256_set1_epi8(0x03), four = _mm256_set1_epi8(4);                          \
        __m256 acc[VECTOR_TILE];                                                                        \
        for (int v = 0; v < R; ++v) acc[v] = _mm256_setzero_ps();                                       \
        for (int64_t b = 0; b < n / 256; ++b) {                                                         \
            const uint8_t *block = w + 110 * b;                                                         \
            int scale[16];                                                                              \
            q3_K_scales(block + 96, scale);                                                             \
            const __m256i hmask = _mm256_loadu_si256((const __m256i *)block);                           \
            __m256i total[VECTOR_TILE];                                                                 \
            for (int v = 0; v < R; ++v) total[v] = _mm256_setzero_si256();                              \
            for (int s = 0; s < 8; ++s) {                                                               \
                const __m256i bits = _mm256_loadu_si256((const __m256i *)(block + 32 + 32 * (s / 4)));  \
                const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * (s % 4)), m2);         \
                const __m256i bit = _mm256_set1_epi8((char)(1 << s));                                   \
                const __m256i clear = _mm256_cmpeq_epi8(_mm256_and_si256(hmask, bit), _mm256_setzero_si256()); \
                const __m256i q = _mm256_sub_epi8(low, _mm256_and_si256(clear, four));                  \
                const __m256i wabs = weight_magnitudes(q);                                              \
                for (int v = 0; v < R; ++v) {                                                           \
                    const __m256i a = _mm256_loadu_si256((const __m256i *)(quants + v * n + 256 * b + 32 * s)); \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(wabs, signed_activations(a, q), scale[2 * s], scale[2 * s + 1])); \
                }                                                                                       \
            }                                                                                           \
            const float weight_scale = f16_to_float(block + 108);                                       \
            for (int v = 0; v < R; ++v) {                                                               \
                acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(weight_scale * scales[v * (n / 32) + b]),       \
                                         _mm256_cvtepi32_ps(total[v]), acc[v]);                         \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(acc[v]);                            \
    }

Q3_K_BODY(q3_K_avx2, AVX2, split_scaled_products_avx2)
Q3_K_BODY(q3_K_vnni, VNNI, split_scaled_products_vnni)
DOT_KERNELS(dot_q3_K_avx2, AVX2, q3_K_avx2)
DOT_KERNELS(dot_q3_K_vnni, VNNI, q3_K_vnni)

/// IQ4_XS: per sub-block, (ls − 32) · Σ table[q]·a, through the sign trick.
#define IQ4_XS_BODY(NAME, TARGET, PRODUCTS)                                                             \
    BODY_SIGNATURE(NAME, TARGET) {                                                                      \
        (void)sums;                                                                                     \
        const uint8_t *w = row;                                                                         \
        __m256 acc[VECTOR_TILE];                                                                        \
        for (int v = 0; v < R; ++v) acc[v] = _mm256_setzero_ps();                                       \
        for (int64_t b = 0; b < n / 256; ++b) {                                                         \
            const uint8_t *block = w + 136 * b;                                                         \
            const int high = load_u16(block + 2);                                                       \
            __m256i total[VECTOR_TILE];                                                                 \
            for (int v = 0; v < R; ++v) total[v] = _mm256_setzero_si256();                              \
            for (int s = 0; s < 8; ++s) {                                                               \
                const int ls = ((block[4 + s / 2] >> (4 * (s % 2))) & 0x0F) | (((high >> (2 * s)) & 0x03) << 4); \
                const __m256i q = iq4_values(nibbles(block + 8 + 16 * s));                              \
                const __m256i wabs = weight_magnitudes(q);                                              \
                for (int v = 0; v < R; ++v) {                                                           \
                    const __m256i a = _mm256_loadu_si256((const __m256i *)(quants + v * n + 256 * b + 32 * s)); \
                    total[v] = _mm256_add_epi32(total[v], PRODUCTS(wabs, signed_activations(a, q), ls - 32)); \
                }                                                                                       \
            }                                                                                           \
            const float weight_scale = f16_to_float(block);                                             \
            for (int v = 0; v < R; ++v) {                                                               \
                acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(weight_scale * scales[v * (n / 32) + b]),       \
                                         _mm256_cvtepi32_ps(total[v]), acc[v]);                         \
            }                                                                                           \
        }                                                                                               \
        for (int v = 0; v < R; ++v) out[v * out_stride] = sum_lanes(acc[v]);                            \
    }

IQ4_XS_BODY(iq4_xs_avx2, AVX2, scaled_products_avx2)
IQ4_XS_BODY(iq4_xs_vnni, VNNI, scaled_products_vnni)
DOT_KERNELS(dot_iq4_xs_avx2, AVX2, iq4_xs_avx2)
DOT_KERNELS(dot_iq4_xs_vnni, VNNI, iq4_xs_vnni)

lmgate_dot_kernel lmgate_superblocks_kernel(int type, int vnni) {
    switch (type) {
    case LMGATE_TYPE_Q4_K: return vnni ? dot_q4_K_vnni : dot_q4_K_avx2;
    case LMGATE_TYPE_Q5_K: return vnni ? dot_q5_K_vnni : dot_q5_K_avx2;
    case LMGATE_TYPE_Q6_K: return vnni ? dot_q6_K_vnni : dot_q6_K_avx2;
    case LMGATE_TYPE_Q3_K: return vnni ? dot_q3_K_vnni : dot_q3_K_avx2;
    case LMGATE_TYPE_IQ4_XS: return vnni ? dot_iq4_xs_vnni : dot_iq4_xs_avx2;
    default: return NULL;
    }
}

lmgate_dot_vectors_kernel lmgate_superblocks_vectors_kernel(int type, int vnni) {
    switch (type) {
    case LMGATE_TYPE_Q4_K: return vnni ? dot_q4_K_vnni_vectors : dot_q4_K_avx2_vectors;
    case LMGATE_TYPE_Q5_K: return vnni ? dot_q5_K_vnni_vectors : dot_q5_K_avx2_vectors;
    case LMGATE_TYPE_Q6_K: return vnni ? dot_q6_K_vnni_vectors : dot_q6_K_avx2_vectors;
    case LMGATE_TYPE_Q3_K: return vnni ? dot_q3_K_vnni_vectors : dot_q3_K_avx2_vectors;
    case LMGATE_TYPE_IQ4_XS: return vnni ? dot_iq4_xs_vnni_vectors : dot_iq4_xs_avx2_vectors;
    default: return NULL;
    }
}

#endif
