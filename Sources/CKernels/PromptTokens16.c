// Prompt products of the 32-weight block types (Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1), Q4_K and Q6_K weights with activations quantized to 16 bits (see
// CKernels.h, "Prompt products with 16-bit activations"; the weight layouts
// are described in Blocks32Weights.h and IntegerDotSuperBlocks.c). One tile
// body multiplies them all; a type only adds how a row is widened to 16
// bits.
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
#include "Blocks32Weights.h"
#include "Activations16.h"

#if defined(__x86_64__)

/// The blocks of one pass over the columns: 1024 columns of 128 tokens are
/// 256 KiB of quantized activations, which stay in L2 while every row of a
/// chunk of rows reads them (the whole of a 4864-column product, 1.2 MiB,
/// did not).
#define COLUMN_BLOCKS 32

/// Rows and 16-token groups of one micro-kernel call: 4 × 2 takes 8 integer
/// and 8 float accumulators (of 32 registers); 4 × 3 and 8 × 1 were slower.
#define TILE_ROWS 4
#define TILE_GROUPS 2

VNNI static void quantize_tokens16_vnni(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales,
                                        float *sums) {
    const int64_t blocks = n / 32, groups = (tokens + 15) / 16;
    for (int64_t g = 0; g < groups; ++g) {
        for (int lane = 0; lane < 16; ++lane) {
            const int64_t t = g * 16 + lane;
            for (int64_t b = 0; b < blocks; ++b) {
                int16_t *out = quants + (g * blocks + b) * 512;
                float *scale = scales + (g * blocks + b) * 16 + lane;
                float *sum = sums + (g * blocks + b) * 16 + lane;
                if (t < tokens) {
                    // Pair k of this token at k · 32 + lane · 2.
                    *scale = quantize_block16_avx2(x + t * n + 32 * b, out + lane * 2, 32, sum);
                } else {
                    // Padding lanes: zero quants, scale and sum, results unused.
                    *scale = *sum = 0.0f;
                    for (int k = 0; k < 16; ++k) memset(out + k * 32 + lane * 2, 0, 2 * sizeof(int16_t));
                }
            }
        }
    }
}

void lmgate_quantize_tokens16(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales,
                              float *sums) {
    quantize_tokens16_vnni(x, tokens, n, quants, scales, sums);
}

/// The weight types' block structure in the tile: one scale per 32-block
/// (Q8_0, Q4_0, Q5_0), a scale and a minimum (Q4_K, Q4_1, Q5_1), or one
/// scale per 16 weights (Q6_K: the block's two halves are summed apart in
/// integers).
enum { TILE_SCALES = 0, TILE_MINIMUMS = 1, TILE_HALVES = 2 };

/// `R` rows (their weights as 16-bit integers, `row_stride` apart, their
/// block scales (two per block with `TILE_HALVES`) and, with
/// `TILE_MINIMUMS`, block minimums, `COLUMN_BLOCKS` blocks apart) times `G`
/// 16-token groups over `blocks` blocks; the result for row r and token t
/// (counted from the first group, `tokens` of them left) goes to
/// `y[t · y_stride + r]`, stored or, with `accumulate`, added. A block adds
/// `weight scale · token scale · Σ q·a − weight minimum · token block sum`
/// (with halves: `token scale · Σ_h weight scale_h · Σ_h q·a`). `R`, `G`
/// and `KIND` are constants where it is inlined, so the accumulators live
/// in registers.
VNNI static inline __attribute__((always_inline)) void tile_vnni(
    const int16_t *weights, int64_t row_stride, const float *weight_scales, const float *weight_minimums,
    const int16_t *quants, const float *scales, const float *sums, int64_t group_stride, int64_t blocks, int R,
    int G, int KIND, float *y, int64_t y_stride, int64_t tokens, int accumulate) {
    const int halves = KIND == TILE_HALVES ? 2 : 1;
    __m512 results[TILE_ROWS][TILE_GROUPS];
    for (int r = 0; r < R; ++r)
        for (int g = 0; g < G; ++g) results[r][g] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        __m512i products[TILE_ROWS][TILE_GROUPS];
        for (int r = 0; r < R; ++r)
            for (int g = 0; g < G; ++g) products[r][g] = _mm512_setzero_si512();
        __m512 first_half[TILE_ROWS][TILE_GROUPS];
        for (int k = 0; k < 16; ++k) {
            if (KIND == TILE_HALVES && k == 8) {
                // The first 16 weights' sum, scaled by their own scale.
                for (int r = 0; r < R; ++r) {
                    const __m512 w = _mm512_set1_ps(weight_scales[(r * COLUMN_BLOCKS + b) * 2]);
                    for (int g = 0; g < G; ++g) {
                        first_half[r][g] = _mm512_mul_ps(_mm512_cvtepi32_ps(products[r][g]), w);
                        products[r][g] = _mm512_setzero_si512();
                    }
                }
            }
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
            const int64_t at = g * (group_stride / 32) + b * 16;
            const __m512 s = _mm512_loadu_ps(scales + at);
            for (int r = 0; r < R; ++r) {
                if (KIND == TILE_HALVES) {
                    const __m512 w = _mm512_set1_ps(weight_scales[(r * COLUMN_BLOCKS + b) * 2 + 1]);
                    const __m512 both = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products[r][g]), w, first_half[r][g]);
                    results[r][g] = _mm512_fmadd_ps(both, s, results[r][g]);
                    continue;
                }
                const __m512 d = _mm512_mul_ps(s, _mm512_set1_ps(weight_scales[r * COLUMN_BLOCKS * halves + b]));
                results[r][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products[r][g]), d, results[r][g]);
                if (KIND == TILE_MINIMUMS) {
                    const __m512 m = _mm512_set1_ps(weight_minimums[r * COLUMN_BLOCKS + b]);
                    results[r][g] = _mm512_fnmadd_ps(_mm512_loadu_ps(sums + at), m, results[r][g]);
                }
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
            __m512 v = results[r][g];
            if (accumulate) v = _mm512_add_ps(v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, lanes, base, 4));
            _mm512_mask_i32scatter_ps(base, mask, lanes, v, 4);
        }
    }
}

/// `tile_vnni` with constant R (1…4), G (1, 2) and KIND (``TILE_SCALES``,
/// ``TILE_MINIMUMS``, ``TILE_HALVES``).
#define TILE_VNNI(R, G, M)                                                                               \
    VNNI static void tile_##R##_##G##_##M##_vnni(                                                        \
        const int16_t *weights, int64_t row_stride, const float *weight_scales, const float *weight_minimums, \
        const int16_t *quants, const float *scales, const float *sums, int64_t group_stride, int64_t blocks, \
        float *y, int64_t y_stride, int64_t tokens, int accumulate) {                                    \
        tile_vnni(weights, row_stride, weight_scales, weight_minimums, quants, scales, sums, group_stride,    \
                  blocks, R, G, M, y, y_stride, tokens, accumulate);                                     \
    }
#define TILES_VNNI(M)                                                                                    \
    TILE_VNNI(1, 1, M) TILE_VNNI(2, 1, M) TILE_VNNI(3, 1, M) TILE_VNNI(4, 1, M)                          \
    TILE_VNNI(1, 2, M) TILE_VNNI(2, 2, M) TILE_VNNI(3, 2, M) TILE_VNNI(4, 2, M)
TILES_VNNI(0)
TILES_VNNI(1)
TILES_VNNI(2)

typedef void (*tile_kernel)(const int16_t *, int64_t, const float *, const float *, const int16_t *, const float *,
                            const float *, int64_t, int64_t, float *, int64_t, int64_t, int);
static const tile_kernel tiles_vnni[3][TILE_GROUPS][TILE_ROWS] = {
    {{tile_1_1_0_vnni, tile_2_1_0_vnni, tile_3_1_0_vnni, tile_4_1_0_vnni},
     {tile_1_2_0_vnni, tile_2_2_0_vnni, tile_3_2_0_vnni, tile_4_2_0_vnni}},
    {{tile_1_1_1_vnni, tile_2_1_1_vnni, tile_3_1_1_vnni, tile_4_1_1_vnni},
     {tile_1_2_1_vnni, tile_2_2_1_vnni, tile_3_2_1_vnni, tile_4_2_1_vnni}},
    {{tile_1_1_2_vnni, tile_2_1_2_vnni, tile_3_1_2_vnni, tile_4_1_2_vnni},
     {tile_1_2_2_vnni, tile_2_2_2_vnni, tile_3_2_2_vnni, tile_4_2_2_vnni}},
};

/// Defines `NAME`, which widens `count` 32-blocks of a row of a 32-weight
/// block type (`BLOCK_BYTES` each) from block `first` on: the weights as
/// `WEIGHTS` gives them in bytes (signed, or Q4_1's and Q5_1's values
/// 0…31: all within int8) sign-extended to 16 bits, the F16 `d` to
/// `float`, and with `MINIMUM` the F16 `m` that follows `d`, *negated*:
/// the tile subtracts minimum × block sum (Q4_K's `dmin·min` is subtracted
/// from its weights), while Q4_1's and Q5_1's `m` is added (`w = d·q + m`).
#define WIDEN_BLOCKS32_VNNI(NAME, BLOCK_BYTES, WEIGHTS, MINIMUM)                                         \
    VNNI static void NAME(const uint8_t *row, int64_t first, int64_t count, int16_t *wide, float *scales, \
                          float *minimums) {                                                             \
        (void)minimums; /* unused where MINIMUM is 0 */                                                  \
        const uint8_t *block = row + (BLOCK_BYTES) * first;                                              \
        for (int64_t b = 0; b < count; ++b, block += (BLOCK_BYTES)) {                                    \
            scales[b] = f16_to_float(block);                                                             \
            if (MINIMUM) minimums[b] = -f16_to_float(block + 2);                                         \
            _mm512_storeu_si512(wide + 32 * b, _mm512_cvtepi8_epi16(WEIGHTS(block)));                    \
        }                                                                                                \
    }
WIDEN_BLOCKS32_VNNI(widen_q8_0_vnni, 34, weights_q8_0, 0)
WIDEN_BLOCKS32_VNNI(widen_q4_0_vnni, 18, weights_q4_0, 0)
WIDEN_BLOCKS32_VNNI(widen_q5_0_vnni, 22, weights_q5_0, 0)
WIDEN_BLOCKS32_VNNI(widen_q4_1_vnni, 20, values_q4_1, 1)
WIDEN_BLOCKS32_VNNI(widen_q5_1_vnni, 24, values_q5_1, 1)

/// Widens `count` 32-blocks (sub-blocks; `first` and `count` are multiples
/// of 8) of a Q4_K row: the 4-bit values to 16 bits, each sub-block's
/// `d · scale` and `dmin · min`.
VNNI static void widen_q4_K_vnni(const uint8_t *row, int64_t first, int64_t count, int16_t *wide, float *scales,
                                 float *minimums) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < count; b += 8) {
        const uint8_t *block = row + 144 * ((first + b) / 8);
        const float d = f16_to_float(block), dmin = f16_to_float(block + 2);
        int scale[8], minimum[8];
        q4_K_scales(block + 4, scale, minimum);
        for (int s = 0; s < 8; ++s) {
            scales[b + s] = d * (float)scale[s];
            minimums[b + s] = dmin * (float)minimum[s];
        }
        for (int group = 0; group < 4; ++group) {
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * group));
            const __m256i low = _mm256_and_si256(bytes, mask), high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
            _mm512_storeu_si512(wide + 32 * (b + 2 * group), _mm512_cvtepu8_epi16(low));
            _mm512_storeu_si512(wide + 32 * (b + 2 * group + 1), _mm512_cvtepu8_epi16(high));
        }
    }
}

/// Widens `count` 32-blocks (`first` and `count` multiples of 8) of a Q6_K
/// row: the 6-bit values minus 32 to 16 bits, and two scales per block,
/// `d · scale` of its first and of its second 16 weights.
VNNI static void widen_q6_K_vnni(const uint8_t *row, int64_t first, int64_t count, int16_t *wide, float *scales,
                                 float *minimums) {
    (void)minimums;
    const __m512i offset = _mm512_set1_epi16(32);
    for (int64_t b = 0; b < count; b += 8) {
        const uint8_t *block = row + 210 * ((first + b) / 8);
        const float d = f16_to_float(block + 208);
        for (int k = 0; k < 16; ++k) scales[2 * b + k] = d * (float)((const int8_t *)(block + 192))[k];
        for (int half = 0; half < 2; ++half) {
            __m256i q[4];
            q6_K_values(block, half, q);
            for (int j = 0; j < 4; ++j) {
                _mm512_storeu_si512(wide + 32 * (b + 4 * half + j), _mm512_sub_epi16(_mm512_cvtepu8_epi16(q[j]), offset));
            }
        }
    }
}

typedef void (*widen_kernel)(const uint8_t *, int64_t, int64_t, int16_t *, float *, float *);

/// Rows times quantized tokens: per pass over `COLUMN_BLOCKS` blocks of
/// columns, each group of `TILE_ROWS` rows is widened to 16 bits once
/// (`widen`) and multiplied with every token; the first pass stores into
/// `y`, the others add to it.
VNNI static inline __attribute__((always_inline)) void tokens16_vnni(
    const void *weights, int64_t row_bytes, int64_t rows, const int16_t *quants, const float *scales,
    const float *sums, int64_t tokens, int64_t n, float *y, int64_t y_stride, widen_kernel widen, int kind) {
    const int halves = kind == TILE_HALVES ? 2 : 1;
    const int64_t blocks = n / 32, groups = (tokens + 15) / 16, group_stride = blocks * 512;
    int16_t wide[TILE_ROWS * COLUMN_BLOCKS * 32];
    float weight_scales[TILE_ROWS * COLUMN_BLOCKS * 2], weight_minimums[TILE_ROWS * COLUMN_BLOCKS];
    for (int64_t first_block = 0; first_block < blocks; first_block += COLUMN_BLOCKS) {
        const int64_t count = blocks - first_block < COLUMN_BLOCKS ? blocks - first_block : COLUMN_BLOCKS;
        for (int64_t row = 0; row < rows; row += TILE_ROWS) {
            const int R = rows - row < TILE_ROWS ? (int)(rows - row) : TILE_ROWS;
            for (int r = 0; r < R; ++r) {
                widen((const uint8_t *)weights + (row + r) * row_bytes, first_block, count,
                      wide + r * COLUMN_BLOCKS * 32, weight_scales + r * COLUMN_BLOCKS * halves,
                      weight_minimums + r * COLUMN_BLOCKS);
            }
            for (int64_t g = 0; g < groups; g += TILE_GROUPS) {
                const int G = groups - g < TILE_GROUPS ? (int)(groups - g) : TILE_GROUPS;
                const int64_t at = g * (group_stride / 32) + first_block * 16;
                tiles_vnni[kind][G - 1][R - 1](wide, COLUMN_BLOCKS * 32, weight_scales, weight_minimums,
                                                   quants + g * group_stride + first_block * 512, scales + at,
                                                   sums + at, group_stride, count, y + 16 * g * y_stride + row,
                                                   y_stride, tokens - 16 * g, first_block > 0);
            }
        }
    }
}

/// Defines `NAME`, the ``lmgate_tokens16_kernel`` of a weight type: its
/// widening and its block structure in the tile.
#define TOKENS16_VNNI(NAME, WIDEN, KIND)                                                                 \
    VNNI static void NAME(const void *weights, int64_t row_bytes, int64_t rows, const int16_t *quants,  \
                          const float *scales, const float *sums, int64_t tokens, int64_t n, float *y,   \
                          int64_t y_stride) {                                                            \
        tokens16_vnni(weights, row_bytes, rows, quants, scales, sums, tokens, n, y, y_stride, WIDEN, KIND); \
    }
TOKENS16_VNNI(q8_0_tokens16_vnni, widen_q8_0_vnni, TILE_SCALES)
TOKENS16_VNNI(q4_0_tokens16_vnni, widen_q4_0_vnni, TILE_SCALES)
TOKENS16_VNNI(q5_0_tokens16_vnni, widen_q5_0_vnni, TILE_SCALES)
TOKENS16_VNNI(q4_1_tokens16_vnni, widen_q4_1_vnni, TILE_MINIMUMS)
TOKENS16_VNNI(q5_1_tokens16_vnni, widen_q5_1_vnni, TILE_MINIMUMS)
TOKENS16_VNNI(q4_K_tokens16_vnni, widen_q4_K_vnni, TILE_MINIMUMS)
TOKENS16_VNNI(q6_K_tokens16_vnni, widen_q6_K_vnni, TILE_HALVES)

lmgate_tokens16_kernel lmgate_tokens16_kernel_for(int type, int path) {
    if (path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    switch (type) {
    case LMGATE_TYPE_Q8_0: return q8_0_tokens16_vnni;
    case LMGATE_TYPE_Q4_0: return q4_0_tokens16_vnni;
    case LMGATE_TYPE_Q5_0: return q5_0_tokens16_vnni;
    case LMGATE_TYPE_Q4_1: return q4_1_tokens16_vnni;
    case LMGATE_TYPE_Q5_1: return q5_1_tokens16_vnni;
    case LMGATE_TYPE_Q4_K: return q4_K_tokens16_vnni;
    case LMGATE_TYPE_Q6_K: return q6_K_tokens16_vnni;
    default: return NULL;
    }
}

#else
void lmgate_quantize_tokens16(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales,
                              float *sums) {
    (void)x; (void)tokens; (void)n; (void)quants; (void)scales; (void)sums;
}
lmgate_tokens16_kernel lmgate_tokens16_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
#endif
