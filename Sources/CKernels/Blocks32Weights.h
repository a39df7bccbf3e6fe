// The weights of the 32-weight block types as bytes, shared by their
// integer-dot kernels (IntegerDotBlocks32.c) and their 16-bit-activation
// prompt kernels (PromptTokens16.c). Layouts (ggml-common.h):
// - Q8_0, 34 bytes: f16 d, int8 q[32]; w = d·q.
// - Q4_0, 18 bytes: f16 d, q[16] nibbles; w = d·(q − 8).
// - Q5_0, 22 bytes: f16 d, qh (bit i: the fifth bit of weight i), q[16]
//   nibbles; w = d·(q − 16).
// - Q4_1, 20 bytes: f16 d, f16 m, q[16] nibbles; w = d·q + m.
// - Q5_1, 24 bytes: f16 d, f16 m, qh, q[16] nibbles; w = d·q + m.
// - IQ4_NL, 18 bytes: f16 d, q[16] nibbles indexing ggml's kvalues_iq4nl;
//   w = d·table[q].
// Nibble bytes: the low nibble of byte i is weight i, the high one i + 16.
#ifndef LMGATE_BLOCKS32_WEIGHTS_H
#define LMGATE_BLOCKS32_WEIGHTS_H

#include "IntegerDotShared.h"

#if defined(__x86_64__)

/// The 32 signed weights of a block, as bytes, by type (`block` is the
/// block's first byte; its F16 scale comes first in every 32-block type).
AVX2 static inline __m256i weights_q8_0(const uint8_t *block) {
    return _mm256_loadu_si256((const __m256i *)(block + 2));
}

AVX2 static inline __m256i weights_q4_0(const uint8_t *block) {
    return _mm256_sub_epi8(nibbles(block + 2), _mm256_set1_epi8(8));
}

/// Each bit of the 32-bit `qh` as 0x10 in its weight's byte: the word
/// broadcast, byte k/8 moved to byte k, tested against bit k mod 8.
AVX2 static inline __m256i fifth_bits(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    // Within each 128-bit half: the low half takes bytes 0, 1 of the word, the high half 2, 3.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

AVX2 static inline __m256i weights_q5_0(const uint8_t *block) {
    return _mm256_sub_epi8(_mm256_or_si256(nibbles(block + 6), fifth_bits(block + 2)), _mm256_set1_epi8(16));
}

AVX2 static inline __m256i weights_iq4_nl(const uint8_t *block) {
    return iq4_values(nibbles(block + 2));
}

/// The stored (unsigned) values of Q4_1 and Q5_1, 0…15 and 0…31.
AVX2 static inline __m256i values_q4_1(const uint8_t *block) {
    return nibbles(block + 4);
}

AVX2 static inline __m256i values_q5_1(const uint8_t *block) {
    return _mm256_or_si256(nibbles(block + 8), fifth_bits(block + 4));
}

/// A block's 32 weight bytes (signed, or Q4_1's and Q5_1's values 0…31:
/// all within int8) sign-extended to 16 bits (the decode kernels with
/// 16-bit activations): weights 0-15 in `low`, 16-31 in `high`.
typedef struct {
    __m256i low, high;
} weights16;

AVX2 static inline weights16 widen_weights16(__m256i bytes) {
    return (weights16){_mm256_cvtepi8_epi16(_mm256_castsi256_si128(bytes)),
                       _mm256_cvtepi8_epi16(_mm256_extracti128_si256(bytes, 1))};
}

/// The eight 32-bit lanes of Σ w·a over a block's widened weights and its
/// 32 16-bit activations `a` (exact: a lane adds four products of at most
/// 128 · 32767). AVX2: `vpmaddwd` twice; AVX-512 VNNI: `vpmaddwd` and
/// `vpdpwssd`.
AVX2 static inline __m256i block_products16_avx2(weights16 w, const int16_t *a) {
    return _mm256_add_epi32(_mm256_madd_epi16(w.low, _mm256_loadu_si256((const __m256i *)a)),
                            _mm256_madd_epi16(w.high, _mm256_loadu_si256((const __m256i *)(a + 16))));
}

VNNI static inline __m256i block_products16_vnni(weights16 w, const int16_t *a) {
    return _mm256_dpwssd_epi32(_mm256_madd_epi16(w.low, _mm256_loadu_si256((const __m256i *)a)), w.high,
                               _mm256_loadu_si256((const __m256i *)(a + 16)));
}

#endif
#endif
