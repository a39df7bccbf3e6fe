// Prompt products of F16 weights with `Float` activations, `Y = X·Wᵀ`,
// without expanding the weights to a `Float` tile first (see CKernels.h,
// `lmgate_f16_tiles_kernel`).
//
// Before, a prompt's F16 product expanded tiles of rows to `Float` in memory
// and handed them to `cblas_sgemm`, which copied them and the activations
// again into its own packed layout: 14 % of a 128-token prompt of the F16
// bench model was those copies (docs/BENCHMARKS.md). Here a register tile of
// 4 rows × 6 tokens keeps 24 accumulators of 16 partial sums each along the
// columns; every step converts 16 weights of each of the 4 rows in registers
// (`vcvtph2ps`, the rows stay in L1 while every token passes) and multiplies
// them with 16 activations of each of the 6 tokens (24 fused multiply-adds
// for 4 conversions and 6 loads), reading `X` where it is, row-major. At the
// end each token's 4 accumulators are summed together by a transposing tree
// into the 4 rows' results, which lie next to each other in `Y`.
//
// Measured outside the tree on this AMD EPYC (Zen 4), one thread, 128
// tokens, under load (thread CPU time): 896 columns × 4864 rows 10.7–11.1 ms
// against 12.0–12.2 for F16 → `Float` tiles + `cblas_sgemm`; 4864 × 896
// 10.2 ms against 12.7–13.3. Summing each accumulator alone (not four at a
// time) took 11.7–12.2 ms on the first, where a row has only 56 steps per
// sum. Tokens along the vector lanes instead (activations packed 16 tokens
// per column, weights converted to an L1 buffer and broadcast, 6 rows × 64
// tokens) took 11.7–12.0 and 11.3–11.6 ms; 3 × 8, 6 × 4 and 8 × 3 tiles were
// no better than 4 × 6, 2 × 12 half as fast.
//
// AVX-512 only: the same scheme on AVX2's 8 lanes (3 × 4 tile) was level
// with OpenBLAS's Haswell kernel on this CPU (0.97–1.2× in `lmgate bench`,
// 1.00–1.06× alone), and an AVX2-only CPU was not at hand to show a gain.
//
// Accuracy: every product is a `Float` fused multiply-add of the exact
// weight (F16 converts exactly) and the activation, summed in 16 lanes and
// then by a tree: within `Float` rounding of `Σ|w·x|` as `cblas_sgemm` is,
// only the order of the additions differs. Infinities and NaNs propagate as
// in any `Float` sum (∞ · 0 and ∞ − ∞ are NaN). Columns past a multiple of
// 16 are read with masked loads, whose zeroed lanes add nothing.
#include "IntegerDotShared.h"

#if defined(__x86_64__)

/// The register tile: 4 rows × 6 tokens, 24 accumulators of the 32
/// registers, beside the 4 converted weight vectors and one activation
/// vector.
#define TILE_ROWS 4
#define TILE_TOKENS 6

/// The sums of the 16 lanes of each of `a0…a3`, in lanes 0…3.
VNNI static inline __m128 sum_lanes4_vnni(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    // Per 128-bit lane: [a0₀+a0₂, a1₀+a1₂, a0₁+a0₃, a1₁+a1₃], and the same of a2, a3.
    const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
    const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    // Per 128-bit lane: the four vectors' sums over that lane.
    const __m512d d01 = _mm512_castps_pd(s01), d23 = _mm512_castps_pd(s23);
    const __m512 s = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(d01, d23)),
                                   _mm512_castpd_ps(_mm512_unpackhi_pd(d01, d23)));
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/// Rows `w` (`n` weights, `stride` halves apart; `rows` ≤ 4) times tokens
/// `x` (`n` activations each, `n` apart; `tokens` ≤ 6): row r and token t
/// to `y[t·y_stride + r]`. Inlined with constant `rows` and `tokens` into
/// one function per tile shape (below), so the accumulators stay in
/// registers.
__attribute__((always_inline)) VNNI static inline void f16_tile_vnni(
    int rows, int tokens, const uint16_t *w, int64_t stride, const float *x, int64_t n, float *y, int64_t y_stride) {
    __m512 acc[TILE_ROWS][TILE_TOKENS];
    for (int r = 0; r < TILE_ROWS; ++r)
        for (int t = 0; t < TILE_TOKENS; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512 weights[TILE_ROWS];
        for (int r = 0; r < rows; ++r)
            weights[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + r * stride + c)));
        for (int t = 0; t < tokens; ++t) {
            const __m512 activations = _mm512_loadu_ps(x + t * n + c);
            for (int r = 0; r < rows; ++r) acc[r][t] = _mm512_fmadd_ps(weights[r], activations, acc[r][t]);
        }
    }
    if (c < n) {
        const __mmask16 mask = (__mmask16)((1u << (n - c)) - 1);
        __m512 weights[TILE_ROWS];
        for (int r = 0; r < rows; ++r) weights[r] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, w + r * stride + c));
        for (int t = 0; t < tokens; ++t) {
            const __m512 activations = _mm512_maskz_loadu_ps(mask, x + t * n + c);
            for (int r = 0; r < rows; ++r) acc[r][t] = _mm512_fmadd_ps(weights[r], activations, acc[r][t]);
        }
    }
    for (int t = 0; t < tokens; ++t) {
        const __m128 sums = sum_lanes4_vnni(acc[0][t], acc[1][t], acc[2][t], acc[3][t]);
        if (rows == TILE_ROWS) {
            _mm_storeu_ps(y + t * y_stride, sums);
        } else {
            _mm_mask_storeu_ps(y + t * y_stride, (__mmask8)((1u << rows) - 1), sums);
        }
    }
}

typedef void (*f16_tile_function)(const uint16_t *w, int64_t stride, const float *x, int64_t n, float *y,
                                  int64_t y_stride);

#define F16_TILE(R, T)                                                                                          \
    VNNI static void f16_tile_##R##x##T##_vnni(const uint16_t *w, int64_t stride, const float *x, int64_t n,    \
                                               float *y, int64_t y_stride) {                                    \
        f16_tile_vnni(R, T, w, stride, x, n, y, y_stride);                                                      \
    }
#define F16_TILES(R) F16_TILE(R, 1) F16_TILE(R, 2) F16_TILE(R, 3) F16_TILE(R, 4) F16_TILE(R, 5) F16_TILE(R, 6)
F16_TILES(1) F16_TILES(2) F16_TILES(3) F16_TILES(4)
#define F16_TILE_ROW(R) \
    {f16_tile_##R##x1_vnni, f16_tile_##R##x2_vnni, f16_tile_##R##x3_vnni, f16_tile_##R##x4_vnni, f16_tile_##R##x5_vnni, f16_tile_##R##x6_vnni}

/// The tile function of each shape, by rows − 1 and tokens − 1 (a product's
/// last rows and tokens take the smaller shapes).
static const f16_tile_function f16_tiles[TILE_ROWS][TILE_TOKENS] = {
    F16_TILE_ROW(1), F16_TILE_ROW(2), F16_TILE_ROW(3), F16_TILE_ROW(4),
};

/// Every 4 rows stay in L1 while all the tokens pass over them.
VNNI static void f16_tiles_vnni(const void *weights, int64_t row_bytes, int64_t rows, const float *x,
                                int64_t tokens, int64_t n, float *y, int64_t y_stride) {
    const int64_t stride = row_bytes / 2;
    for (int64_t r = 0; r < rows; r += TILE_ROWS) {
        const int64_t row_count = rows - r < TILE_ROWS ? rows - r : TILE_ROWS;
        const uint16_t *w = (const uint16_t *)weights + r * stride;
        for (int64_t t = 0; t < tokens; t += TILE_TOKENS) {
            const int64_t token_count = tokens - t < TILE_TOKENS ? tokens - t : TILE_TOKENS;
            f16_tiles[row_count - 1][token_count - 1](w, stride, x + t * n, n, y + t * y_stride + r, y_stride);
        }
    }
}

lmgate_f16_tiles_kernel lmgate_f16_tiles_kernel_for(int path) {
    return path == LMGATE_KERNELS_AVX512VNNI ? f16_tiles_vnni : NULL;
}

#else
lmgate_f16_tiles_kernel lmgate_f16_tiles_kernel_for(int path) { (void)path; return NULL; }
#endif
