// Prompt products of Q8_0 weights with activations quantized to 16 bits
// (see CKernels.h, "Prompt products with 16-bit activations").
//
// Why this shape: a 32-block's products must be scaled by the weight's and
// the activation's scales before blocks are added, so an integer kernel pays
// a conversion and a multiply-add per (row, token, block). With the 16
// lanes of a register holding 16 *tokens* (not 16 partial sums of one
// token), that epilogue is one vector conversion and two vector multiplies
// per (row, 16 tokens, block) against 16 `vpdpwssd` (a weight pair
// broadcast, times each token's activation pair): 512 multiply-adds in 19
// instructions, where `Float` FMA needs 32. Measured outside the tree on
// this AMD EPYC (Zen 4), one thread, 128 tokens × 896 × 4864: 6.6–6.8 ms
// against 12.0–16.9 ms for dequantize + `cblas_sgemm` (docs/BENCHMARKS.md).
#include "IntegerDotShared.h"

#if defined(__x86_64__)
#include <math.h>

/// The blocks of one pass over the columns: 1024 columns of 128 tokens are
/// 256 KiB of quantized activations, which stay in L2 while every row of a
/// chunk of rows reads them (the whole of a 4864-column product, 1.2 MiB,
/// did not).
#define COLUMN_BLOCKS 32

/// Rows and 16-token groups of one micro-kernel call: 4 × 2 takes 8 integer
/// and 8 float accumulators (of 32 registers); 4 × 3 and 8 × 1 were slower.
#define TILE_ROWS 4
#define TILE_GROUPS 2

/// One token's 32 activations of a block quantized to 16 bits, stored
/// as the kernel reads them: pair k (activations 2k, 2k+1) at
/// `out + k · 32 + lane · 2`. The scale is `max|x| / 32767` (the block's
/// largest magnitude is 32767), written as `f · 2^e / 32767` with `f` in
/// [0.5, 1) so that a subnormal block still gets its own precision rather
/// than an infinite inverse; a block with a NaN or an infinity gets a NaN
/// scale (and zero quants), so its products are NaN, as in `Float`.
VNNI static inline float quantize_block16_vnni(const float *x, int16_t *out, int lane) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const __mmask16 unordered = _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
    const float largest = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    float scale = 0.0f;
    __m512i q = _mm512_setzero_si512();
    if (unordered || isinf(largest)) {
        scale = NAN;
    } else if (largest > 0.0f) {
        int exponent;
        const float fraction = frexpf(largest, &exponent);
        // x · 2^-e is exact (|x| ≤ largest, so no overflow, and no
        // underflow since the result is at least |x|); then at most 32767.
        const __m512 power = _mm512_set1_ps(ldexpf(1.0f, -exponent));
        const __m512 multiplier = _mm512_set1_ps(32767.0f / fraction);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_mul_ps(v0, power), multiplier));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_mul_ps(v1, power), multiplier));
        q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtsepi32_epi16(q0)), _mm512_cvtsepi32_epi16(q1), 1);
        scale = ldexpf(fraction / 32767.0f, exponent);
    }
    int32_t pairs[16];
    _mm512_storeu_si512(pairs, q);
    for (int k = 0; k < 16; ++k) memcpy(out + k * 32 + lane * 2, &pairs[k], sizeof pairs[k]);
    return scale;
}

VNNI static void quantize_tokens16_vnni(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales) {
    const int64_t blocks = n / 32, groups = (tokens + 15) / 16;
    for (int64_t g = 0; g < groups; ++g) {
        for (int lane = 0; lane < 16; ++lane) {
            const int64_t t = g * 16 + lane;
            for (int64_t b = 0; b < blocks; ++b) {
                int16_t *out = quants + (g * blocks + b) * 512;
                float *scale = scales + (g * blocks + b) * 16 + lane;
                if (t < tokens) {
                    *scale = quantize_block16_vnni(x + t * n + 32 * b, out, lane);
                } else {
                    // Padding lanes: zero quants and scale, results unused.
                    *scale = 0.0f;
                    for (int k = 0; k < 16; ++k) memset(out + k * 32 + lane * 2, 0, 2 * sizeof(int16_t));
                }
            }
        }
    }
}

void lmgate_quantize_tokens16(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales) {
    quantize_tokens16_vnni(x, tokens, n, quants, scales);
}

/// `R` rows (their weights as 16-bit integers, `row_stride` apart, and
/// their block scales, `COLUMN_BLOCKS` apart) times `G` 16-token groups
/// over `blocks` blocks; the result for row r and token t (counted from the
/// first group, `tokens` of them left) goes to `y[t · y_stride + r]`,
/// stored or, with `accumulate`, added. `R` and `G` are constants where it
/// is inlined, so the accumulators live in registers.
VNNI static inline __attribute__((always_inline)) void tile_vnni(
    const int16_t *weights, int64_t row_stride, const float *weight_scales, const int16_t *quants,
    const float *scales, int64_t group_stride, int64_t blocks, int R, int G, float *y, int64_t y_stride,
    int64_t tokens, int accumulate) {
    __m512 sums[TILE_ROWS][TILE_GROUPS];
    for (int r = 0; r < R; ++r)
        for (int g = 0; g < G; ++g) sums[r][g] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        __m512i products[TILE_ROWS][TILE_GROUPS];
        for (int r = 0; r < R; ++r)
            for (int g = 0; g < G; ++g) products[r][g] = _mm512_setzero_si512();
        for (int k = 0; k < 16; ++k) {
            __m512i a[TILE_GROUPS];
            for (int g = 0; g < G; ++g) a[g] = _mm512_loadu_si512(quants + g * group_stride + b * 512 + k * 32);
            for (int r = 0; r < R; ++r) {
                int32_t pair;
                memcpy(&pair, weights + r * row_stride + 32 * b + 2 * k, sizeof pair);
                const __m512i w = _mm512_set1_epi32(pair);
                for (int g = 0; g < G; ++g) products[r][g] = _mm512_dpwssd_epi32(products[r][g], a[g], w);
            }
        }
        for (int g = 0; g < G; ++g) {
            const __m512 s = _mm512_loadu_ps(scales + g * (group_stride / 32) + b * 16);
            for (int r = 0; r < R; ++r) {
                const __m512 d = _mm512_mul_ps(s, _mm512_set1_ps(weight_scales[r * COLUMN_BLOCKS + b]));
                sums[r][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products[r][g]), d, sums[r][g]);
            }
        }
    }
    // A lane is a token: scattered to its row of `y` (one scatter per row
    // and group took the place of 128 scalar stores per tile, which were
    // a tenth of the kernel's time).
    const __m512i lanes = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)y_stride));
    for (int g = 0; g < G; ++g) {
        const int64_t left = tokens - 16 * g;
        const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        for (int r = 0; r < R; ++r) {
            float *base = y + 16 * g * y_stride + r;
            __m512 v = sums[r][g];
            if (accumulate) v = _mm512_add_ps(v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, lanes, base, 4));
            _mm512_mask_i32scatter_ps(base, mask, lanes, v, 4);
        }
    }
}

/// `tile_vnni` with constant R (1…4) and G (1, 2).
#define TILE_VNNI(R, G)                                                                                 \
    VNNI static void tile_##R##_##G##_vnni(const int16_t *weights, int64_t row_stride,                 \
                                           const float *weight_scales, const int16_t *quants,           \
                                           const float *scales, int64_t group_stride, int64_t blocks,   \
                                           float *y, int64_t y_stride, int64_t tokens, int accumulate) { \
        tile_vnni(weights, row_stride, weight_scales, quants, scales, group_stride, blocks, R, G, y,     \
                  y_stride, tokens, accumulate);                                                        \
    }
TILE_VNNI(1, 1) TILE_VNNI(2, 1) TILE_VNNI(3, 1) TILE_VNNI(4, 1)
TILE_VNNI(1, 2) TILE_VNNI(2, 2) TILE_VNNI(3, 2) TILE_VNNI(4, 2)

typedef void (*tile_kernel)(const int16_t *, int64_t, const float *, const int16_t *, const float *, int64_t,
                            int64_t, float *, int64_t, int64_t, int);
static const tile_kernel tiles_vnni[TILE_GROUPS][TILE_ROWS] = {
    {tile_1_1_vnni, tile_2_1_vnni, tile_3_1_vnni, tile_4_1_vnni},
    {tile_1_2_vnni, tile_2_2_vnni, tile_3_2_vnni, tile_4_2_vnni},
};

/// Q8_0 rows (34-byte blocks: F16 scale, 32 int8) times quantized tokens:
/// per pass over `COLUMN_BLOCKS` blocks of columns, each group of
/// `TILE_ROWS` rows is widened to 16 bits once and multiplied with every
/// token; the first pass stores into `y`, the others add to it.
VNNI static void q8_0_tokens16_vnni(const void *weights, int64_t row_bytes, int64_t rows, const int16_t *quants,
                                    const float *scales, int64_t tokens, int64_t n, float *y, int64_t y_stride) {
    const int64_t blocks = n / 32, groups = (tokens + 15) / 16, group_stride = blocks * 512;
    int16_t wide[TILE_ROWS * COLUMN_BLOCKS * 32];
    float weight_scales[TILE_ROWS * COLUMN_BLOCKS];
    for (int64_t first_block = 0; first_block < blocks; first_block += COLUMN_BLOCKS) {
        const int64_t count = blocks - first_block < COLUMN_BLOCKS ? blocks - first_block : COLUMN_BLOCKS;
        for (int64_t row = 0; row < rows; row += TILE_ROWS) {
            const int R = rows - row < TILE_ROWS ? (int)(rows - row) : TILE_ROWS;
            for (int r = 0; r < R; ++r) {
                const uint8_t *block = (const uint8_t *)weights + (row + r) * row_bytes + 34 * first_block;
                for (int64_t b = 0; b < count; ++b, block += 34) {
                    weight_scales[r * COLUMN_BLOCKS + b] = f16_to_float(block);
                    const __m256i q = _mm256_loadu_si256((const __m256i *)(block + 2));
                    _mm512_storeu_si512(wide + r * COLUMN_BLOCKS * 32 + 32 * b, _mm512_cvtepi8_epi16(q));
                }
            }
            for (int64_t g = 0; g < groups; g += TILE_GROUPS) {
                const int G = groups - g < TILE_GROUPS ? (int)(groups - g) : TILE_GROUPS;
                tiles_vnni[G - 1][R - 1](wide, COLUMN_BLOCKS * 32, weight_scales,
                                         quants + g * group_stride + first_block * 512,
                                         scales + g * (group_stride / 32) + first_block * 16, group_stride, count,
                                         y + 16 * g * y_stride + row, y_stride, tokens - 16 * g, first_block > 0);
            }
        }
    }
}

lmgate_tokens16_kernel lmgate_tokens16_kernel_for(int type, int path) {
    if (path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    switch (type) {
    case LMGATE_TYPE_Q8_0: return q8_0_tokens16_vnni;
    default: return NULL;
    }
}

#else
void lmgate_quantize_tokens16(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales) {
    (void)x; (void)tokens; (void)n; (void)quants; (void)scales;
}
lmgate_tokens16_kernel lmgate_tokens16_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
#endif
