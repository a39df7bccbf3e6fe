// Activation quantization and the choice of integer-dot kernel by weight
// type and path (see CKernels.h for the scheme, IntegerDotShared.h for the
// instructions).
#include "CKernels.h"
#include "IntegerDotShared.h"
#include "Activations16.h"

int lmgate_activation_block_size(int type) {
    switch (type) {
    case LMGATE_TYPE_Q8_0: case LMGATE_TYPE_Q4_0: case LMGATE_TYPE_Q4_1:
    case LMGATE_TYPE_Q5_0: case LMGATE_TYPE_Q5_1: case LMGATE_TYPE_IQ4_NL:
        return 32;
    case LMGATE_TYPE_Q3_K: case LMGATE_TYPE_Q4_K:
    case LMGATE_TYPE_Q5_K: case LMGATE_TYPE_Q6_K: case LMGATE_TYPE_IQ4_XS:
        return 256;
    default:
        return 0;
    }
}

#if defined(__x86_64__)

AVX2 static inline float max_lanes(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The largest magnitude of `count` (a multiple of 8) activations.
AVX2 static inline float largest_magnitude(const float *x, int count) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < count; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    return max_lanes(m);
}

/// 32 activations times `inverse` to signed bytes, rounded to nearest.
AVX2 static inline __m256i quantize32(const float *x, float inverse) {
    const __m256 mul = _mm256_set1_ps(inverse);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), mul));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), mul));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), mul));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), mul));
    // The packs work within 128-bit halves; the permutation puts the
    // eight 4-byte groups back in order.
    __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// The scale `amax / 127` and its inverse for a block's largest magnitude;
/// a subnormal or zero scale would give an infinite inverse, so such a block
/// gets scale 0 and quants 0.
static inline void block_scale(float amax, float *scale, float *inverse) {
    const float d = amax / 127.0f;
    *inverse = d > 1e-30f ? 127.0f / amax : 0.0f;
    *scale = *inverse == 0.0f ? 0.0f : d;
}

/// The sums of the two 16-byte halves of 32 signed bytes.
AVX2 static inline void half_sums(__m256i bytes, int16_t *out) {
    // Sign-extend each half to 16 bits and add pairwise down to one lane.
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i low = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(bytes)), ones);
    const __m256i high = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(bytes, 1)), ones);
    int32_t lanes[16];
    _mm256_storeu_si256((__m256i *)lanes, low);
    _mm256_storeu_si256((__m256i *)(lanes + 8), high);
    int first = 0, second = 0;
    for (int i = 0; i < 8; ++i) {
        first += lanes[i];
        second += lanes[8 + i];
    }
    out[0] = (int16_t)first;
    out[1] = (int16_t)second;
}

AVX2 static void quantize_blocks32_avx2(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    for (int64_t b = 0; b < n / 32; ++b) {
        float inverse;
        block_scale(largest_magnitude(x + 32 * b, 32), &scales[b], &inverse);
        const __m256i bytes = quantize32(x + 32 * b, inverse);
        _mm256_storeu_si256((__m256i *)(quants + 32 * b), bytes);
        int16_t halves[2];
        half_sums(bytes, halves);
        sums[b] = (int16_t)(halves[0] + halves[1]);
    }
}

/// One scale per 256: the largest magnitude of the eight 32-blocks.
AVX2 static void quantize_blocks256_avx2(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    for (int64_t b = 0; b < n / 256; ++b) {
        float inverse;
        block_scale(largest_magnitude(x + 256 * b, 256), &scales[b], &inverse);
        for (int i = 0; i < 256; i += 32) {
            const __m256i bytes = quantize32(x + 256 * b + i, inverse);
            _mm256_storeu_si256((__m256i *)(quants + 256 * b + i), bytes);
            half_sums(bytes, sums + 16 * b + i / 16);
        }
    }
}

void lmgate_quantize_blocks32(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    quantize_blocks32_avx2(x, n, quants, scales, sums);
}

void lmgate_quantize_blocks256(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    quantize_blocks256_avx2(x, n, quants, scales, sums);
}

void lmgate_quantize_blocks32_16(const float *x, int64_t n, int16_t *quants, float *scales, float *sums) {
    for (int64_t b = 0; b < n / 32; ++b) scales[b] = quantize_block16_avx2(x + 32 * b, quants + 32 * b, 2, &sums[b]);
}

lmgate_dot16_kernel lmgate_integer_dot16_kernel(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    return lmgate_blocks32_dot16_kernel(type, path == LMGATE_KERNELS_AVX512VNNI);
}

lmgate_dot16_vectors_kernel lmgate_integer_dot16_vectors_kernel(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    return lmgate_blocks32_dot16_vectors_kernel(type, path == LMGATE_KERNELS_AVX512VNNI);
}

lmgate_dot_kernel lmgate_integer_dot_kernel(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    const int vnni = path == LMGATE_KERNELS_AVX512VNNI;
    switch (lmgate_activation_block_size(type)) {
    case 32: return lmgate_blocks32_kernel(type, vnni);
    case 256: return lmgate_superblocks_kernel(type, vnni);
    default: return NULL;
    }
}

lmgate_dot_vectors_kernel lmgate_integer_dot_vectors_kernel(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    const int vnni = path == LMGATE_KERNELS_AVX512VNNI;
    switch (lmgate_activation_block_size(type)) {
    case 32: return lmgate_blocks32_vectors_kernel(type, vnni);
    case 256: return lmgate_superblocks_vectors_kernel(type, vnni);
    default: return NULL;
    }
}

#else
// Elsewhere only the portable (Swift, float) kernels run.
void lmgate_quantize_blocks32(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    (void)x; (void)n; (void)quants; (void)scales; (void)sums;
}
void lmgate_quantize_blocks256(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums) {
    (void)x; (void)n; (void)quants; (void)scales; (void)sums;
}
lmgate_dot_kernel lmgate_integer_dot_kernel(int type, int path) { (void)type; (void)path; return NULL; }
void lmgate_quantize_blocks32_16(const float *x, int64_t n, int16_t *quants, float *scales, float *sums) {
    (void)x; (void)n; (void)quants; (void)scales; (void)sums;
}
lmgate_dot16_kernel lmgate_integer_dot16_kernel(int type, int path) { (void)type; (void)path; return NULL; }
lmgate_dot16_vectors_kernel lmgate_integer_dot16_vectors_kernel(int type, int path) {
    (void)type; (void)path; return NULL;
}
lmgate_dot_vectors_kernel lmgate_integer_dot_vectors_kernel(int type, int path) { (void)type; (void)path; return NULL; }
#endif
