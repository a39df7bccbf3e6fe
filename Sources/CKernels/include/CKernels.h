// Integer-dot kernels for quantized weights, in C because the instructions
// they rest on (AVX2 `vpmaddubsw`, AVX-512 VNNI `vpdpbusd`) cannot be reached
// from Swift. Every function that uses an extension names it with
// `__attribute__((target(...)))`, so this file is compiled for the baseline
// CPU and a caller must only reach a function through the dispatch below,
// after checking the CPU (`lmgate_cpu_supports`).
//
// Scheme (as llama.cpp's): the activation vector is quantized once per
// matrix-vector product to signed 8-bit values in blocks with a `float`
// scale each, 127 = the block's largest magnitude, and the integer sums of
// its quants; a weight block is then multiplied with it in integers, and the
// scales are applied once per block. Weights with a minimum or an offset
// (Q4_1, Q5_1, the K-quants) take that term from the sums.
// - 32-blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL): `quants[n]`,
//   `scales[n / 32]`, `sums[n / 32]` (the sum of each block's 32 quants).
// - 256-blocks (K-quants but Q2_K, IQ4_XS): `quants[n]`, `scales[n / 256]`, and
//   `sums[n / 16]`, the sum of every 16 quants.
#ifndef LMGATE_CKERNELS_H
#define LMGATE_CKERNELS_H

#include <stdint.h>

/// Kernel paths, in the order of ``KernelPath``.
enum {
    LMGATE_KERNELS_PORTABLE = 0,
    LMGATE_KERNELS_AVX2 = 1,
    LMGATE_KERNELS_AVX512VNNI = 2,
};

/// 1 when this CPU (and the operating system, for the vector registers'
/// state) supports `path`: AVX2 needs AVX2, FMA and F16C; AVX512VNNI needs
/// those and AVX-512 F, BW, VL and VNNI. Always 1 for the portable path.
int lmgate_cpu_supports(int path);

/// Quantizes `n` activations (a multiple of 32) to 32-blocks with their
/// sums. Path AVX2 or better.
void lmgate_quantize_blocks32(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums);

/// Quantizes `n` activations (a multiple of 256) to 256-blocks with the
/// sums of every 16 quants. Path AVX2 or better.
void lmgate_quantize_blocks256(const float *x, int64_t n, int8_t *quants, float *scales, int16_t *sums);

/// The dot product of one stored row of `n` weights with quantized
/// activations in the blocks its type needs (see above).
typedef float (*lmgate_dot_kernel)(const void *row, const int8_t *quants, const float *scales,
                                   const int16_t *sums, int64_t n);

/// The dot products of one stored row of `n` weights with `count`
/// quantized activation vectors laid out one after another: vector v's
/// quants at `quants + v·n`, its scales at `scales + v·(n/32)` and its sums
/// at `sums + v·(n/16)` (the room a vector of either block size takes); its
/// result goes to `out[v·out_stride]` and is bitwise what the type's
/// `lmgate_dot_kernel` returns for that vector alone. The row's blocks are
/// loaded and unpacked once for several vectors.
typedef void (*lmgate_dot_vectors_kernel)(const void *row, const int8_t *quants, const float *scales,
                                          const int16_t *sums, int64_t n, int64_t count, float *out,
                                          int64_t out_stride);

/// Weight types with kernels here, by their GGML numbers (all but F16 have
/// integer-dot kernels).
enum {
    LMGATE_TYPE_F16 = 1,
    LMGATE_TYPE_Q4_0 = 2,
    LMGATE_TYPE_Q4_1 = 3,
    LMGATE_TYPE_Q5_0 = 6,
    LMGATE_TYPE_Q5_1 = 7,
    LMGATE_TYPE_Q8_0 = 8,
    LMGATE_TYPE_Q2_K = 10,
    LMGATE_TYPE_Q3_K = 11,
    LMGATE_TYPE_Q4_K = 12,
    LMGATE_TYPE_Q5_K = 13,
    LMGATE_TYPE_Q6_K = 14,
    LMGATE_TYPE_IQ4_NL = 20,
    LMGATE_TYPE_IQ4_XS = 23,
};

/// The kernel of `path` for a weight type (one of the `LMGATE_TYPE_`
/// numbers), or NULL where the path has none.
lmgate_dot_kernel lmgate_integer_dot_kernel(int type, int path);

/// The several-vector kernel of `path` for a weight type, or NULL where the
/// path has no integer kernel for it.
lmgate_dot_vectors_kernel lmgate_integer_dot_vectors_kernel(int type, int path);

/// Decode with 16-bit activations, for the types where 8 bits strayed from
/// the exact top-1 token more often than llama.cpp (today Q4_1, on the AVX2
/// and AVX-512 VNNI paths), and the logits (``lmgate_logits16_kernel``):
/// each 32-block of a vector rounded to signed
/// 16-bit values as the prompt products' (``lmgate_quantize_tokens16``:
/// 32767 = the block's largest magnitude, a `float` scale, the block's sum
/// `scale · Σ quants` in `float`), but in order: `quants[n]`,
/// `scales[n / 32]`, `sums[n / 32]`. Path AVX2 or better.
void lmgate_quantize_blocks32_16(const float *x, int64_t n, int16_t *quants, float *scales, float *sums);

/// As ``lmgate_dot_kernel``, with activations from ``lmgate_quantize_blocks32_16``.
typedef float (*lmgate_dot16_kernel)(const void *row, const int16_t *quants, const float *scales,
                                     const float *sums, int64_t n);

/// As ``lmgate_dot_vectors_kernel``, with activations from
/// ``lmgate_quantize_blocks32_16``: vector v's quants at `quants + v·n`, its
/// scales and sums at `scales + v·(n/32)` and `sums + v·(n/32)`; each
/// result bitwise the single-vector kernel's.
typedef void (*lmgate_dot16_vectors_kernel)(const void *row, const int16_t *quants, const float *scales,
                                            const float *sums, int64_t n, int64_t count, float *out,
                                            int64_t out_stride);

/// The 16-bit-activation decode kernel of `path` for a weight type, or NULL
/// where the type decodes with 8-bit activations (or in `Float`) there.
/// A type has either this or ``lmgate_integer_dot_kernel``, not both.
lmgate_dot16_kernel lmgate_integer_dot16_kernel(int type, int path);

/// Its several-vector kernel, or NULL.
lmgate_dot16_vectors_kernel lmgate_integer_dot16_vectors_kernel(int type, int path);

/// The activation block size the type's kernel reads: 32 or 256 (0 for a
/// type without an integer kernel).
int lmgate_activation_block_size(int type);

/// The dot product of one stored row of `n` weights with `Float`
/// activations (not quantized) in the order the Swift row kernels read the
/// type (Kernels' ColumnOrder).
typedef float (*lmgate_float_dot_kernel)(const void *row, const float *x, int64_t n);

/// The `Float`-activation kernel of `path` for a weight type, or NULL where
/// the path leaves the type to the Swift row kernels (today only Q8_0 has
/// one, on the AVX2 and AVX-512 VNNI paths).
lmgate_float_dot_kernel lmgate_float_dot_kernel_for(int type, int path);

/// The dot products of one stored row of `n` weights with `count` (1…4)
/// `Float` activation vectors `stride` floats apart, in the order of
/// ``lmgate_float_dot_kernel``: result `v` goes to `y[v * y_stride]` and is
/// bitwise what the single-vector kernel returns for vector `v`.
typedef void (*lmgate_float_dot_vectors_kernel)(
    const void *row, const float *x, int64_t stride, int64_t n, int count, float *y, int64_t y_stride);

/// The several-vector `Float`-activation kernel of `path` for a weight
/// type, or NULL where the path has none (the same types and paths as
/// ``lmgate_float_dot_kernel_for``).
lmgate_float_dot_vectors_kernel lmgate_float_dot_vectors_kernel_for(int type, int path);

/// The dot products of `count` stored rows, `row_bytes` apart from `rows`
/// on, each of `n` weights, with one vector of `Float` activations in the
/// type's kernel order: row `r`'s result goes to `y[r]`. The loop over rows
/// is inside the kernel, so a product calls it once per range of rows.
typedef void (*lmgate_float_dot_rows_kernel)(
    const void *rows, int64_t row_bytes, int64_t count, const float *x, int64_t n, float *y);

/// The rows kernel of `path` for a weight type, or NULL where the path has
/// none (today F16 on the AVX2 and AVX-512 VNNI paths, bitwise the results
/// of the AVX2 copy's Swift `RowDot.f16`).
lmgate_float_dot_rows_kernel lmgate_float_dot_rows_kernel_for(int type, int path);

/// `Y = X·Wᵀ` for F16 weights and `Float` activations (a prompt's product):
/// `rows` stored rows of `n` F16 weights, `row_bytes` apart from `weights`,
/// times `tokens` activation vectors of `n` floats, row-major at `x`; the
/// product of row r and token t goes to `y[t·y_stride + r]`. The weights are
/// converted in registers, never expanded to a `Float` tile; products and
/// sums are in `Float` (HalfFloatTiles.c).
typedef void (*lmgate_f16_tiles_kernel)(const void *weights, int64_t row_bytes, int64_t rows, const float *x,
                                        int64_t tokens, int64_t n, float *y, int64_t y_stride);

/// The F16 prompt kernel of `path`, or NULL where the path has none (today
/// the AVX-512 VNNI path only).
lmgate_f16_tiles_kernel lmgate_f16_tiles_kernel_for(int path);

/// Prompt products with 16-bit activations (AVX-512 VNNI `vpdpwssd`).
///
/// Every token's activations are quantized once per product to signed
/// 16-bit values per 32-block with a `float` scale (the block's largest
/// magnitude is 32767: each activation moves by at most `max|x| / 65534`,
/// 258 times finer than the 8-bit scheme above), in groups of 16 tokens
/// laid out as the kernel reads them: for group g and block b, 512 quants at
/// `quants + (g·(n/32) + b)·512`, pair k of token (lane) l at `k·32 + l·2`,
/// and 16 scales at `scales + (g·(n/32) + b)·16`, and as many block sums
/// (`scale · Σ quants`, for the weights' minimums) at the same place in
/// `sums`. A group's lanes past the last token are zero. Room:
/// `⌈tokens/16⌉·16·n` quants and `⌈tokens/16⌉·16·(n/32)` scales and sums.
///
/// Path AVX-512 VNNI only.
void lmgate_quantize_tokens16(const float *x, int64_t tokens, int64_t n, int16_t *quants, float *scales,
                              float *sums);

/// `rows` stored rows (`row_bytes` apart, from `weights`) of `n` weights
/// times `tokens` quantized tokens (``lmgate_quantize_tokens16``): the
/// product of row r and token t goes to `y[t·y_stride + r]` (`y_stride`
/// below 2^27: 16 tokens' offsets are scattered as 32-bit indices).
/// Weights are multiplied exactly (integers), each block's sum scaled in
/// `float`.
typedef void (*lmgate_tokens16_kernel)(const void *weights, int64_t row_bytes, int64_t rows,
                                       const int16_t *quants, const float *scales, const float *sums,
                                       int64_t tokens, int64_t n, float *y, int64_t y_stride);

/// The 16-bit-activation prompt kernel of `path` for a weight type, or NULL
/// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K on the AVX-512 VNNI path).
lmgate_tokens16_kernel lmgate_tokens16_kernel_for(int type, int path);

/// Products with 16-bit activations for the logits (Dot16.c): the kernels
/// of `path` for a weight type, reading activations rounded by
/// ``lmgate_quantize_blocks32_16`` (the sums used by Q4_1's minimum only),
/// or NULL (Q8_0, Q6_K and Q4_1 on the AVX2 and AVX-512 VNNI paths, which
/// give bitwise the same results; Q4_1's are its decode kernels,
/// ``lmgate_integer_dot16_kernel``). The 32-bit lanes of Σ w·a are exact:
/// below 2^24 for Q8_0 and Q4_1 (|w| ≤ 128, |a| ≤ 32767, four products a
/// lane), so they convert to `float` exactly; below 2^29 for Q6_K (its
/// sub-scales folded into the weights, |w| ≤ 4096), converted to `float`
/// within 2^-24 of a lane.
lmgate_dot16_kernel lmgate_logits16_kernel(int type, int path);
lmgate_dot16_vectors_kernel lmgate_logits16_vectors_kernel(int type, int path);

#endif
