// F16 rows dotted with `Float` activations, a range of rows per call.
//
// Every F16 product runs here on the AVX2 and AVX-512 paths (F16 weights
// have no integer-dot kernel): a token of the F16 qwen3moe bench model
// makes about 170 000 row products, 150 000 of them the output projection
// (vocabulary 151 936 × 768). The Swift kernel (`RowDot.f16` in the AVX2
// copy) was reached once per row through two closure thunks, 6 % of decode's
// samples beside its 56 % (docs/BENCHMARKS.md); here the loop over rows is
// inside the kernel.
//
// The arithmetic is exactly the Swift kernel's, so results are bitwise
// unchanged: 32 columns per step into four accumulators of eight lanes (one
// `vcvtph2ps` and one fused multiply-add per eight weights), then eight at
// a time into the first, then `(acc0 + acc1) + (acc2 + acc3)`, its lanes
// summed in order 0…7 (as Swift's `SIMD8.sum()`), then the columns left one
// by one with a separate multiply and add (Swift does not fuse `a + b * c`;
// the pragma keeps clang from fusing it either).
#include "IntegerDotShared.h"

#if defined(__x86_64__)

#pragma clang fp contract(off)

/// Lanes 0…7 of `v` added in order, as Swift's `SIMD8<Float>.sum()` does.
AVX2 static inline float sum_lanes_in_order(__m256 v) {
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    float sum = lanes[0];
    for (int i = 1; i < 8; ++i) sum += lanes[i];
    return sum;
}

AVX2 static inline __m256 f16x8(const uint16_t *w) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w)); }

/// One row's dot product, in the Swift kernel's order (see above).
AVX2 static inline float f16_row_dot_avx2(const uint16_t *w, const float *x, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t c = 0;
    for (; c + 32 <= n; c += 32) {
        acc0 = _mm256_fmadd_ps(f16x8(w + c), _mm256_loadu_ps(x + c), acc0);
        acc1 = _mm256_fmadd_ps(f16x8(w + c + 8), _mm256_loadu_ps(x + c + 8), acc1);
        acc2 = _mm256_fmadd_ps(f16x8(w + c + 16), _mm256_loadu_ps(x + c + 16), acc2);
        acc3 = _mm256_fmadd_ps(f16x8(w + c + 24), _mm256_loadu_ps(x + c + 24), acc3);
    }
    for (; c + 8 <= n; c += 8) acc0 = _mm256_fmadd_ps(f16x8(w + c), _mm256_loadu_ps(x + c), acc0);
    float sum = sum_lanes_in_order(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; c < n; ++c) {
        const float product = _cvtsh_ss(w[c]) * x[c];
        sum += product;
    }
    return sum;
}

AVX2 static void f16_float_dot_rows_avx2(
    const void *rows, int64_t row_bytes, int64_t count, const float *x, int64_t n, float *y) {
    const uint8_t *row = rows;
    for (int64_t r = 0; r < count; ++r, row += row_bytes) y[r] = f16_row_dot_avx2((const uint16_t *)row, x, n);
}

lmgate_float_dot_rows_kernel lmgate_float_dot_rows_kernel_for(int type, int path) {
    if (path != LMGATE_KERNELS_AVX2 && path != LMGATE_KERNELS_AVX512VNNI) return NULL;
    return type == LMGATE_TYPE_F16 ? f16_float_dot_rows_avx2 : NULL;
}

#else
lmgate_float_dot_rows_kernel lmgate_float_dot_rows_kernel_for(int type, int path) { (void)type; (void)path; return NULL; }
#endif
