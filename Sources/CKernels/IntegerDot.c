// The x86-64 integer-dot kernels (see CKernels.h for the scheme). Each
// kernel exists per path: AVX2 multiplies unsigned by signed bytes with
// `vpmaddubsw` and widens with `vpmaddwd`; AVX-512 VNNI does both in one
// `vpdpbusd` (on 256-bit registers, which keeps the clock up and matches
// the 32-byte weight groups). Weight layouts are ggml's (ggml-common.h):
// - Q8_0, 34 bytes: f16 d, int8 q[32]; w = d·q.
// - Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for
//   eight 32-weight sub-blocks, q[128] nibbles (group g of 64 weights: the
//   low nibbles of bytes 32g… are sub-block 2g, the high ones 2g + 1);
//   w = d·scale·q − dmin·min.
// - Q6_K, 210 bytes: ql[128] low nibbles, qh[64] high two bits, int8
//   scales[16] (one per 16 weights), f16 d; w = d·scale·(q − 32).
#include "CKernels.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline uint16_t load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

AVX2 static inline float f16_to_float(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

AVX2 static inline float sum_lanes(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline float max_lanes(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// 32 activations to signed bytes with scale `amax / 127`, rounded to
/// nearest; returns the scale. A block of zeros has scale 0 and quants 0.
AVX2 static inline float quantize32(const float *x, int8_t *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    const float amax = max_lanes(m);
    const float d = amax / 127.0f;
    // A subnormal or zero scale would give an infinite inverse: all quants 0.
    const float inverse = d > 1e-30f ? 127.0f / amax : 0.0f;
    const __m256 mul = _mm256_set1_ps(inverse);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, mul));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, mul));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, mul));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, mul));
    // The packs work within 128-bit halves; the permutation puts the
    // eight 4-byte groups back in order.
    __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)out, bytes);
    return inverse == 0.0f ? 0.0f : d;
}

AVX2 static void quantize_blocks32_avx2(const float *x, int64_t n, int8_t *quants, float *scales) {
    for (int64_t b = 0; b < n / 32; ++b) scales[b] = quantize32(x + 32 * b, quants + 32 * b);
}

/// One scale per 256: the largest magnitude of the eight 32-blocks.
AVX2 static void quantize_blocks256_avx2(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n / 256; ++b) {
        const float *xb = x + 256 * b;
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < 256; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + i)));
        const float amax = max_lanes(m);
        const float d = amax / 127.0f;
        const float inverse = d > 1e-30f ? 127.0f / amax : 0.0f;
        const __m256 mul = _mm256_set1_ps(inverse);
        int8_t *qb = quants + 256 * b;
        for (int i = 0; i < 256; i += 32) {
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i), mul));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 8), mul));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 16), mul));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 24), mul));
            __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(qb + i), bytes);
        }
        scales[b] = inverse == 0.0f ? 0.0f : d;
        for (int k = 0; k < 16; ++k) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) sum += qb[16 * k + i];
            sums[16 * b + k] = (int16_t)sum;
        }
    }
}

// MARK: Q8_0

/// |w| as unsigned bytes and a·sign(w): their byte products are w·a, which
/// the unsigned × signed instructions need (w = −128 gives the byte 128).
#define SIGNED_PRODUCT_OPERANDS(w, a, wabs, asigned) \
    const __m256i wabs = _mm256_sign_epi8(w, w);     \
    const __m256i asigned = _mm256_sign_epi8(a, w)

/// The 32 signed weights of a block, as bytes, by type (`block` is the
/// block's first byte; its F16 scale comes first in every 32-block type).
AVX2 static inline __m256i weights_q8_0(const uint8_t *block) {
    return _mm256_loadu_si256((const __m256i *)(block + 2));
}

/// 16 bytes of nibbles: the low nibbles are weights 0-15, the high ones 16-31.
AVX2 static inline __m256i nibbles(const uint8_t *qs) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)qs);
    const __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), _mm_and_si128(bytes, mask));
}

/// Q4_0, 18 bytes: f16 d, q[16] nibbles; w = d·(q − 8).
AVX2 static inline __m256i weights_q4_0(const uint8_t *block) {
    return _mm256_sub_epi8(nibbles(block + 2), _mm256_set1_epi8(8));
}

/// Q5_0, 22 bytes: f16 d, qh (bit i: the fifth bit of weight i), q[16]
/// nibbles; w = d·(q − 16). Each bit of qh becomes 0x10 in its weight's byte:
/// the 32-bit word broadcast, byte k/8 moved to byte k, tested against bit k mod 8.
AVX2 static inline __m256i weights_q5_0(const uint8_t *block) {
    uint32_t bits;
    memcpy(&bits, block + 2, sizeof bits);
    // Within each 128-bit half: the low half takes bytes 0, 1 of the word, the high half 2, 3.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    const __m256i fifth = _mm256_and_si256(set, _mm256_set1_epi8(0x10));
    return _mm256_sub_epi8(_mm256_or_si256(nibbles(block + 6), fifth), _mm256_set1_epi8(16));
}

/// IQ4_NL, 18 bytes: f16 d, q[16] nibbles indexing a table of 16 signed
/// values (ggml's kvalues_iq4nl); w = d·table[q], the lookup one `vpshufb`.
AVX2 static inline __m256i weights_iq4_nl(const uint8_t *block) {
    const __m256i table = _mm256_setr_epi8(
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
    return _mm256_shuffle_epi8(table, nibbles(block + 2));
}

AVX2 static inline __m256i block_products_avx2(__m256i wabs, __m256i asigned) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, asigned), _mm256_set1_epi16(1));
}

VNNI static inline __m256i block_products_vnni(__m256i wabs, __m256i asigned) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), wabs, asigned);
}

/// A 32-block kernel: per block, the integer Σ w·a of signed weight bytes
/// (`WEIGHTS`) and activation bytes, times the two scales.
#define DOT_BLOCKS32(NAME, TARGET, BLOCK_BYTES, WEIGHTS, PRODUCTS)                                      \
    TARGET static float NAME(const void *row, const int8_t *quants, const float *scales, int64_t n) {  \
        const uint8_t *w = row;                                                                         \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                  \
        const int64_t blocks = n / 32;                                                                  \
        for (int64_t b = 0; b < blocks; ++b) {                                                          \
            const uint8_t *block = w + (BLOCK_BYTES) * b;                                               \
            const __m256i q = WEIGHTS(block);                                                           \
            const __m256i a = _mm256_loadu_si256((const __m256i *)(quants + 32 * b));                   \
            SIGNED_PRODUCT_OPERANDS(q, a, wabs, asigned);                                               \
            const __m256 sums = _mm256_cvtepi32_ps(PRODUCTS(wabs, asigned));                            \
            const __m256 d = _mm256_set1_ps(f16_to_float(block) * scales[b]);                           \
            /* Alternate accumulators so consecutive blocks do not wait on each other. */               \
            if (b & 1) acc1 = _mm256_fmadd_ps(d, sums, acc1);                                           \
            else acc0 = _mm256_fmadd_ps(d, sums, acc0);                                                 \
        }                                                                                               \
        return sum_lanes(_mm256_add_ps(acc0, acc1));                                                    \
    }

DOT_BLOCKS32(dot_q8_0_avx2, AVX2, 34, weights_q8_0, block_products_avx2)
DOT_BLOCKS32(dot_q8_0_vnni, VNNI, 34, weights_q8_0, block_products_vnni)
DOT_BLOCKS32(dot_q4_0_avx2, AVX2, 18, weights_q4_0, block_products_avx2)
DOT_BLOCKS32(dot_q4_0_vnni, VNNI, 18, weights_q4_0, block_products_vnni)
DOT_BLOCKS32(dot_q5_0_avx2, AVX2, 22, weights_q5_0, block_products_avx2)
DOT_BLOCKS32(dot_q5_0_vnni, VNNI, 22, weights_q5_0, block_products_vnni)
DOT_BLOCKS32(dot_iq4_nl_avx2, AVX2, 18, weights_iq4_nl, block_products_avx2)
DOT_BLOCKS32(dot_iq4_nl_vnni, VNNI, 18, weights_iq4_nl, block_products_vnni)

// MARK: Q4_K

/// The eight 6-bit scales and minimums of a Q4_K (or Q5_K) block.
static inline void q4_K_scales(const uint8_t *packed, int scale[8], int minimum[8]) {
    for (int j = 0; j < 4; ++j) {
        scale[j] = packed[j] & 63;
        minimum[j] = packed[j + 4] & 63;
        scale[j + 4] = (packed[j + 8] & 0x0F) | ((packed[j] >> 6) << 4);
        minimum[j + 4] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4);
    }
}

/// Σ_s min[s] · (sum of the activations of sub-block s), in integers.
static inline int q4_K_minimum_terms(const int minimum[8], const int16_t *sums) {
    int total = 0;
    for (int s = 0; s < 8; ++s) total += minimum[s] * (sums[2 * s] + sums[2 * s + 1]);
    return total;
}

/// Shared by both paths: `PRODUCTS(nibbles, activations, scale)` returns the
/// eight 32-bit lanes of Σ scale · q · a over 32 weights.
#define Q4_K_DOT(PRODUCTS)                                                                              \
    const uint8_t *w = row;                                                                             \
    const __m256i low_mask = _mm256_set1_epi8(0x0F);                                                    \
    __m256 acc = _mm256_setzero_ps();                                                                   \
    float minimums = 0;                                                                                 \
    for (int64_t b = 0; b < n / 256; ++b) {                                                             \
        const uint8_t *block = w + 144 * b;                                                             \
        const int8_t *a = quants + 256 * b;                                                             \
        int scale[8], minimum[8];                                                                       \
        q4_K_scales(block + 4, scale, minimum);                                                         \
        minimums += f16_to_float(block + 2) * scales[b] * (float)q4_K_minimum_terms(minimum, sums + 16 * b); \
        __m256i total = _mm256_setzero_si256();                                                         \
        for (int g = 0; g < 4; ++g) {                                                                   \
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * g));           \
            const __m256i low = _mm256_and_si256(bytes, low_mask);                                      \
            const __m256i high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);               \
            const __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + 64 * g));                       \
            const __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + 64 * g + 32));                  \
            total = _mm256_add_epi32(total, PRODUCTS(low, a0, scale[2 * g]));                           \
            total = _mm256_add_epi32(total, PRODUCTS(high, a1, scale[2 * g + 1]));                      \
        }                                                                                               \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_to_float(block) * scales[b]), _mm256_cvtepi32_ps(total), acc); \
    }                                                                                                   \
    return sum_lanes(acc) - minimums;

AVX2 static inline __m256i scaled_products_avx2(__m256i q, __m256i a, int scale) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16((short)scale));
}

VNNI static inline __m256i scaled_products_vnni(__m256i q, __m256i a, int scale) {
    return _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a), _mm256_set1_epi32(scale));
}

AVX2 static float dot_q4_K_avx2(const void *row, const int8_t *quants, const float *scales, const int16_t *sums, int64_t n) {
    Q4_K_DOT(scaled_products_avx2)
}

VNNI static float dot_q4_K_vnni(const void *row, const int8_t *quants, const float *scales, const int16_t *sums, int64_t n) {
    Q4_K_DOT(scaled_products_vnni)
}

// MARK: Q6_K

/// Σ_k scale[k] · (sum of the activations of 16-weight group k): the
/// stored values are q + 32, so 32 times this comes off the product.
static inline int q6_K_offset_terms(const int8_t *scale, const int16_t *sums) {
    int total = 0;
    for (int k = 0; k < 16; ++k) total += scale[k] * sums[k];
    return total;
}

/// `PRODUCTS(values, activations, first, second)`: the eight 32-bit lanes
/// of Σ scale · q · a over 32 weights, the first 16 with scale `first`.
#define Q6_K_DOT(PRODUCTS)                                                                              \
    const uint8_t *w = row;                                                                             \
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);                             \
    const __m256i m2b = _mm256_set1_epi8(0x0C), m2c = _mm256_set1_epi8(0x30);                           \
    const __m256i m2d = _mm256_set1_epi8((char)0xC0);                                                   \
    __m256 acc = _mm256_setzero_ps();                                                                   \
    float offsets = 0;                                                                                  \
    for (int64_t b = 0; b < n / 256; ++b) {                                                             \
        const uint8_t *block = w + 210 * b;                                                             \
        const int8_t *scale = (const int8_t *)(block + 192);                                            \
        const float d = f16_to_float(block + 208) * scales[b];                                          \
        offsets += d * 32.0f * (float)q6_K_offset_terms(scale, sums + 16 * b);                          \
        __m256i total = _mm256_setzero_si256();                                                         \
        for (int half = 0; half < 2; ++half) {                                                          \
            const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;                       \
            const int8_t *a = quants + 256 * b + 128 * half;                                            \
            const int8_t *s = scale + 8 * half;                                                         \
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);                                 \
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));                          \
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);                                  \
            /* Masking before each 16-bit shift keeps bits inside their byte. */                        \
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)); \
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2b), 2)); \
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m2c)); \
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),          \
                                               _mm256_srli_epi16(_mm256_and_si256(h, m2d), 2));         \
            total = _mm256_add_epi32(total, PRODUCTS(q0, _mm256_loadu_si256((const __m256i *)a), s[0], s[1]));        \
            total = _mm256_add_epi32(total, PRODUCTS(q1, _mm256_loadu_si256((const __m256i *)(a + 32)), s[2], s[3])); \
            total = _mm256_add_epi32(total, PRODUCTS(q2, _mm256_loadu_si256((const __m256i *)(a + 64)), s[4], s[5])); \
            total = _mm256_add_epi32(total, PRODUCTS(q3, _mm256_loadu_si256((const __m256i *)(a + 96)), s[6], s[7])); \
        }                                                                                               \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(total), acc);                       \
    }                                                                                                   \
    return sum_lanes(acc) - offsets;

AVX2 static inline __m256i split_scaled_products_avx2(__m256i q, __m256i a, int first, int second) {
    // 16-bit lanes 0-7 hold the products of bytes 0-15, lanes 8-15 of 16-31.
    const __m256i factors = _mm256_set_m128i(_mm_set1_epi16((short)second), _mm_set1_epi16((short)first));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), factors);
}

VNNI static inline __m256i split_scaled_products_vnni(__m256i q, __m256i a, int first, int second) {
    const __m256i factors = _mm256_set_m128i(_mm_set1_epi32(second), _mm_set1_epi32(first));
    return _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a), factors);
}

AVX2 static float dot_q6_K_avx2(const void *row, const int8_t *quants, const float *scales, const int16_t *sums, int64_t n) {
    Q6_K_DOT(split_scaled_products_avx2)
}

VNNI static float dot_q6_K_vnni(const void *row, const int8_t *quants, const float *scales, const int16_t *sums, int64_t n) {
    Q6_K_DOT(split_scaled_products_vnni)
}

void lmgate_quantize_blocks32(const float *x, int64_t n, int8_t *quants, float *scales) {
    quantize_blocks32_avx2(x, n, quants, scales);
}

void lmgate_quantize_blocks256(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    quantize_blocks256_avx2(x, n, quants, scales, sums);
}

lmgate_dot_blocks32 lmgate_dot_blocks32_kernel(int type, int path) {
    const int vnni = path == LMGATE_KERNELS_AVX512VNNI;
    if (path != LMGATE_KERNELS_AVX2 && !vnni) return NULL;
    switch (type) {
    case LMGATE_TYPE_Q8_0: return vnni ? dot_q8_0_vnni : dot_q8_0_avx2;
    case LMGATE_TYPE_Q4_0: return vnni ? dot_q4_0_vnni : dot_q4_0_avx2;
    case LMGATE_TYPE_Q5_0: return vnni ? dot_q5_0_vnni : dot_q5_0_avx2;
    case LMGATE_TYPE_IQ4_NL: return vnni ? dot_iq4_nl_vnni : dot_iq4_nl_avx2;
    default: return NULL;
    }
}

lmgate_dot_blocks256 lmgate_dot_q4_K(int path) {
    switch (path) {
    case LMGATE_KERNELS_AVX2: return dot_q4_K_avx2;
    case LMGATE_KERNELS_AVX512VNNI: return dot_q4_K_vnni;
    default: return NULL;
    }
}

lmgate_dot_blocks256 lmgate_dot_q6_K(int path) {
    switch (path) {
    case LMGATE_KERNELS_AVX2: return dot_q6_K_avx2;
    case LMGATE_KERNELS_AVX512VNNI: return dot_q6_K_vnni;
    default: return NULL;
    }
}

#else
// Elsewhere only the portable (Swift, float) kernels run.
void lmgate_quantize_blocks32(const float *x, int64_t n, int8_t *quants, float *scales) {
    (void)x; (void)n; (void)quants; (void)scales;
}
void lmgate_quantize_blocks256(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    (void)x; (void)n; (void)quants; (void)scales; (void)sums;
}
lmgate_dot_blocks32 lmgate_dot_blocks32_kernel(int type, int path) { (void)type; (void)path; return NULL; }
lmgate_dot_blocks256 lmgate_dot_q4_K(int path) { (void)path; return NULL; }
lmgate_dot_blocks256 lmgate_dot_q6_K(int path) { (void)path; return NULL; }
#endif
