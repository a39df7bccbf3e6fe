// Helpers shared by the x86-64 integer-dot kernels (see CKernels.h for the
// scheme). Each kernel exists per path: AVX2 multiplies unsigned by signed
// bytes with `vpmaddubsw` and widens with `vpmaddwd`; AVX-512 VNNI does both
// in one `vpdpbusd` (on 256-bit registers, which keeps the clock up and
// matches the 32-byte weight groups). Weight layouts are ggml's
// (ggml-common.h), described at each kernel.
#ifndef LMGATE_INTEGER_DOT_SHARED_H
#define LMGATE_INTEGER_DOT_SHARED_H

#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline uint16_t load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

AVX2 static inline float f16_to_float(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

/// The eight 6-bit scales and minimums of a Q4_K (or Q5_K) block
/// (IntegerDotSuperBlocks.c describes the layout).
static inline void q4_K_scales(const uint8_t *packed, int scale[8], int minimum[8]) {
    for (int j = 0; j < 4; ++j) {
        scale[j] = packed[j] & 63;
        minimum[j] = packed[j + 4] & 63;
        scale[j + 4] = (packed[j + 8] & 0x0F) | ((packed[j] >> 6) << 4);
        minimum[j + 4] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4);
    }
}

/// A Q6_K super-block's 6-bit values (0…63, the weight plus 32) of `half`
/// (0, 1: weights 128·half…), as bytes: `q[j]` holds weights 32j…32j+31 of
/// the half (the low nibbles of `ql` for j = 0, 1, the high ones for
/// j = 2, 3, with bits 2j, 2j+1 of `qh` on top; IntegerDotSuperBlocks.c
/// describes the layout). The one unpacking of the Q6_K kernels.
AVX2 static inline void q6_K_values(const uint8_t *block, int half, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
    // Bits 2j, 2j+1 of qh masked in place, then moved to bits 4-5 (masking
    // before each 16-bit shift keeps bits inside their byte; j = 2 needs no
    // shift, which a loop over `(h >> 2j) & 3` would spend).
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x03)), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x0C)), 2));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, _mm256_set1_epi8(0x30)));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_srli_epi16(_mm256_and_si256(h, _mm256_set1_epi8((char)0xC0)), 2));
}

AVX2 static inline float sum_lanes(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// 16 bytes of nibbles: the low nibbles are weights 0-15, the high ones 16-31.
AVX2 static inline __m256i nibbles(const uint8_t *qs) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)qs);
    const __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), _mm_and_si128(bytes, mask));
}

/// IQ4_NL's and IQ4_XS's nibbles as the signed values of ggml's table
/// kvalues_iq4nl, the lookup one `vpshufb`.
AVX2 static inline __m256i iq4_values(__m256i nibble_bytes) {
    const __m256i table = _mm256_setr_epi8(
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
    return _mm256_shuffle_epi8(table, nibble_bytes);
}

/// The unsigned × signed byte instructions multiply |w| (unsigned bytes)
/// with a·sign(w): their byte products are w·a (w = −128 gives the byte
/// 128; the activations are never −128, their scale maps the largest to
/// 127). |w| is computed once per weight block, a·sign(w) per vector.
AVX2 static inline __m256i weight_magnitudes(__m256i w) { return _mm256_sign_epi8(w, w); }

AVX2 static inline __m256i signed_activations(__m256i a, __m256i w) { return _mm256_sign_epi8(a, w); }

/// The eight 32-bit lanes of Σ q·a over 32 unsigned weight bytes `q` and
/// signed activation bytes `a` (|q·a| pairs stay below 2¹⁵ for |q| ≤ 128).
AVX2 static inline __m256i block_products_avx2(__m256i q, __m256i a) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16(1));
}

VNNI static inline __m256i block_products_vnni(__m256i q, __m256i a) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a);
}

/// As ``block_products_avx2``, times `scale`.
AVX2 static inline __m256i scaled_products_avx2(__m256i q, __m256i a, int scale) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16((short)scale));
}

VNNI static inline __m256i scaled_products_vnni(__m256i q, __m256i a, int scale) {
    return _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a), _mm256_set1_epi32(scale));
}

/// As ``scaled_products_avx2``, the first 16 weights times `first`, the
/// other 16 times `second` (the K-quants with a scale per 16 weights).
AVX2 static inline __m256i split_scaled_products_avx2(__m256i q, __m256i a, int first, int second) {
    // 16-bit lanes 0-7 hold the products of bytes 0-15, lanes 8-15 of 16-31.
    const __m256i factors = _mm256_set_m128i(_mm_set1_epi16((short)second), _mm_set1_epi16((short)first));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), factors);
}

VNNI static inline __m256i split_scaled_products_vnni(__m256i q, __m256i a, int first, int second) {
    const __m256i factors = _mm256_set_m128i(_mm_set1_epi32(second), _mm_set1_epi32(first));
    return _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a), factors);
}

/// The most activation vectors one pass over a weight row multiplies: each
/// keeps its own accumulators in registers (two per vector for the
/// 32-block types), so 4 fill most of AVX2's sixteen.
#define VECTOR_TILE 4

/// The parameters of a kernel body: one stored row and `R` (1 to
/// ``VECTOR_TILE``, a constant where the body is inlined) quantized
/// activation vectors laid out one after another (vector v's quants at
/// `quants + v·n`, its scales at `scales + v·(n/32)`, its sums at
/// `sums + v·(n/16)`), its result written to `out[v·out_stride]`.
#define BODY_SIGNATURE(NAME, TARGET) BODY_SIGNATURE_OF(NAME, TARGET, int8_t, int16_t)

/// As ``BODY_SIGNATURE``, for 16-bit activations (``lmgate_dot16_kernel``):
/// vector v's quants at `quants + v·n`, its scales and its `Float` block
/// sums at `scales + v·(n/32)` and `sums + v·(n/32)`.
#define BODY16_SIGNATURE(NAME, TARGET) BODY_SIGNATURE_OF(NAME, TARGET, int16_t, float)

#define BODY_SIGNATURE_OF(NAME, TARGET, QUANT, SUM)                                                      \
    TARGET static inline __attribute__((always_inline)) void NAME(                                      \
        const void *row, const QUANT *quants, const float *scales, const SUM *sums, int64_t n,          \
        int R, float *out, int64_t out_stride)

/// Defines from one body the single-vector kernel `NAME` (an
/// `lmgate_dot_kernel`: the body with R = 1) and `NAME##_vectors` (an
/// `lmgate_dot_vectors_kernel`: the body on tiles of ``VECTOR_TILE``
/// vectors, then the rest). Each vector's arithmetic is the same code in the
/// same order whatever R, so its result is bitwise the single kernel's; only
/// the loading and unpacking of the weights is shared between vectors.
#define DOT_KERNELS(NAME, TARGET, BODY) DOT_KERNELS_OF(NAME, TARGET, BODY, int8_t, int16_t, 16)

/// ``DOT_KERNELS`` for a ``BODY16_SIGNATURE`` body: an
/// `lmgate_dot16_kernel` and an `lmgate_dot16_vectors_kernel`.
#define DOT16_KERNELS(NAME, TARGET, BODY) DOT_KERNELS_OF(NAME, TARGET, BODY, int16_t, float, 32)

/// ``DOT_KERNELS`` with activation quants of type `QUANT` and sums of type
/// `SUM`, `n / SUMS_EVERY` sums a vector.
#define DOT_KERNELS_OF(NAME, TARGET, BODY, QUANT, SUM, SUMS_EVERY)                                       \
    TARGET static float NAME(const void *row, const QUANT *quants, const float *scales, const SUM *sums, \
                             int64_t n) {                                                               \
        float result;                                                                                   \
        BODY(row, quants, scales, sums, n, 1, &result, 0);                                              \
        return result;                                                                                  \
    }                                                                                                   \
    TARGET static void NAME##_vectors(const void *row, const QUANT *quants, const float *scales,       \
                                      const SUM *sums, int64_t n, int64_t count, float *out,           \
                                      int64_t out_stride) {                                             \
        int64_t v = 0;                                                                                  \
        for (; v + VECTOR_TILE <= count; v += VECTOR_TILE) {                                            \
            BODY(row, quants + v * n, scales + v * (n / 32), sums + v * (n / (SUMS_EVERY)), n,         \
                 VECTOR_TILE, out + v * out_stride, out_stride);                                        \
        }                                                                                               \
        const QUANT *q = quants + v * n;                                                                \
        const float *s = scales + v * (n / 32);                                                         \
        const SUM *m = sums + v * (n / (SUMS_EVERY));                                                   \
        float *o = out + v * out_stride;                                                                \
        switch (count - v) {                                                                            \
        case 3: BODY(row, q, s, m, n, 3, o, out_stride); break;                                         \
        case 2: BODY(row, q, s, m, n, 2, o, out_stride); break;                                         \
        case 1: BODY(row, q, s, m, n, 1, o, out_stride); break;                                         \
        default: break;                                                                                 \
        }                                                                                               \
    }

/// The kernels of the 32-block types (IntegerDotBlocks32.c) and of the
/// 256-block types (IntegerDotSuperBlocks.c) for AVX2 or, with `vnni`, for
/// AVX-512 VNNI; NULL for another type.
lmgate_dot_kernel lmgate_blocks32_kernel(int type, int vnni);
lmgate_dot_kernel lmgate_superblocks_kernel(int type, int vnni);

/// Their several-vector kernels (``DOT_KERNELS``); NULL for another type.
lmgate_dot_vectors_kernel lmgate_blocks32_vectors_kernel(int type, int vnni);
lmgate_dot_vectors_kernel lmgate_superblocks_vectors_kernel(int type, int vnni);

/// The 16-bit-activation kernels of the 32-block types that decode with
/// them (IntegerDotBlocks32.c); NULL for another type.
lmgate_dot16_kernel lmgate_blocks32_dot16_kernel(int type, int vnni);
lmgate_dot16_vectors_kernel lmgate_blocks32_dot16_vectors_kernel(int type, int vnni);

#endif
#endif
