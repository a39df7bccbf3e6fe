import COpenBLAS
import CKernels

/// Products of a ``WeightMatrix`` with `Float` activations.
///
/// - ``matVec(_:x:y:pool:)`` (decode, one token): streams the stored weights
///   once and multiplies them in registers.
/// - ``matMul(_:x:tokens:y:pool:)`` (prefill, or several sequences decoded
///   together): few tokens still stream the weights once, each row unpacked
///   into L1 and reused for every token; many tokens dequantize tiles of rows
///   to `Float` and hand them to `cblas_sgemm`, except the types whose
///   prompts multiply the stored rows with activations rounded to 16 bits on
///   the path (``KernelPath/roundsPromptActivations(of:)``,
///   ``matMulByTokens16(_:x:tokens:y:pool:)``), and F16 on AVX-512, whose
///   rows are converted in registers (``matMulHalfFloatTiles(_:x:tokens:y:pool:)``).
///
/// Both first copy the activations into the kernels' column order
/// (``ColumnOrder``); the results are in the usual row order.
///
/// Accuracy: weights are unpacked exactly and multiplied with the `Float`
/// activations in `Float` (llama.cpp instead rounds the activations to 8
/// bits for its quantized types). Results agree with a dequantize-then-dot
/// reference to within 1e-5 of `Σ|w·x|`; only the summation order differs.
/// Where a path quantizes activations (one token's integer-dot kernels, a
/// prompt's 16-bit ones) ``ActivationPrecision/exact`` keeps `Float`;
/// ``ActivationPrecision/roundedTo16Bits`` (the logits) rounds them to 16
/// bits where the path has a kernel for the type.
///
/// Threads: the work is split over `pool`; ``matMul(_:x:tokens:y:pool:)``
/// sets OpenBLAS to one thread (a process-wide setting) so that BLAS and the
/// pool do not oversubscribe the cores.
public enum MatrixMultiply {
    /// The most `Float`s of expanded rows one thread hands to one
    /// `cblas_sgemm` call in ``matMul(_:x:tokens:y:pool:)`` (4 MiB: a few
    /// hundred rows of a 0.5B model, freed after the call).
    static let tileBytes = 4 << 20

    /// Tiles are whole multiples of this many rows (but the matrix's last):
    /// single-threaded `cblas_sgemm` on 128 tokens × 896 columns reached
    /// 63 GFLOP/s on 32-row tiles, 72 on 64, 76 on 256 (one Zen 3 core).
    static let tileRowsMultiple = 64

    /// From this many tokens on, ``matMul(_:x:tokens:y:pool:)`` uses BLAS.
    /// Below it, expanding each row once into L1 and dotting it with four
    /// tokens at a time is faster (8 sequences decoded together: 44.8
    /// tokens/s through BLAS tiles, against 52.4 for 4 through the rows, on
    /// the Q8_0 bench model).
    static let blasMinimumTokens = 16

    /// Below this many bytes of weights, a one-token product runs on the
    /// calling thread: a job on the pool ends in a wait for every thread,
    /// which costs microseconds on an idle machine and a scheduler time
    /// slice when a worker has been descheduled, while reading 64 KiB takes
    /// about 3 µs on one core (a mixture of experts' router, 8 × 768 Q8_0
    /// weights, is 6.5 KiB: 12 jobs per token fewer on the qwen3moe bench model).
    static let parallelMinimumBytes = 64 << 10

    /// Calls `body` on the rows of a one-token product: split over `pool`
    /// (four rows at a time) unless the product reads fewer than
    /// ``parallelMinimumBytes`` of weights.
    @inline(__always)
    static func forRows(count: Int, weightBytes: Int, pool: ComputePool, body: (Range<Int>) -> Void) {
        if weightBytes < parallelMinimumBytes {
            body(0..<count)
        } else {
            pool.parallelFor(count: count, granularity: 4, body: body)
        }
    }

    /// `y[r] = Σ_c W[r, c] · x[c]` for every row `r` of `w`.
    ///
    /// - Parameters:
    ///   - x: `w.columns` activations.
    ///   - y: room for `w.rows` results.
    ///
    /// - Parameter activations: ``ActivationPrecision/exact`` keeps the
    ///   product in `Float` even where the path has an integer-dot kernel.
    public static func matVec(
        _ w: WeightMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, pool: ComputePool,
        activations: ActivationPrecision = .quantizedWhereFaster
    ) {
        let vector = PreparedVector(w, x, activations: activations)
        defer { vector.deallocate() }
        forRows(count: w.rows, weightBytes: w.byteCount, pool: pool) { rows in
            vector.dots(w, rows: rows, into: y + rows.lowerBound)
        }
    }

    /// `Y = X · Wᵀ`: for each token `t` and row `r`, `Y[t, r] = Σ_c W[r, c] · X[t, c]`.
    ///
    /// - Parameters:
    ///   - x: `tokens × w.columns` activations, row-major.
    ///   - tokens: the number of activation vectors (prompt tokens, or
    ///     sequences decoded together).
    ///   - y: room for `tokens × w.rows` results, row-major.
    ///   - activations: whether one token's product may quantize its
    ///     activations (several tokens' products are in `Float`, unless
    ///     `eachTokenAlone`).
    ///   - eachTokenAlone: the tokens are separate sequences decoding one
    ///     token each: where the weights' type has an integer-dot kernel on
    ///     the active path, each token's product is computed exactly as
    ///     ``matVec(_:x:y:pool:activations:)`` computes it for that token
    ///     alone, so a sequence's results do not depend on how many decode
    ///     beside it (and the rows skip being expanded to `Float`). Not for
    ///     prompts: quantizing a short prompt's activations took the
    ///     fixtures past llama.cpp's distance from exact (``matMulByRows``).
    public static func matMul(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>, pool: ComputePool,
        activations: ActivationPrecision = .quantizedWhereFaster, eachTokenAlone: Bool = false
    ) {
        guard tokens > 0 else { return }
        if tokens == 1 {
            matVec(w, x: x, y: y, pool: pool, activations: activations)
            return
        }
        if eachTokenAlone, activations == .quantizedWhereFaster,
            let vectors = QuantizedActivations(w.type, x, columns: w.columns, count: tokens, path: .active)
        {
            matMulTokensAlone(w, vectors, y: y, pool: pool)
            return
        }
        if tokens >= blasMinimumTokens, activations == .quantizedWhereFaster || (activations == .roundedTo16Bits && roundsLogits(of: w.type)),
            matMulByTokens16(w, x: x, tokens: tokens, y: y, pool: pool)
        {
            return
        }
        // The logits of a few tokens: each as its one-token product.
        if activations == .roundedTo16Bits,
            let vectors = QuantizedActivations(w.type, x, columns: w.columns, count: tokens, path: .active, precision: .roundedTo16Bits)
        {
            matMulTokensAlone(w, vectors, y: y, pool: pool)
            return
        }
        if tokens >= blasMinimumTokens, matMulHalfFloatTiles(w, x: x, tokens: tokens, y: y, pool: pool) {
            return
        }
        let columns = w.columns
        let ordered = UnsafeMutablePointer<Float>.allocate(capacity: tokens * columns)
        defer { ordered.deallocate() }
        for token in 0..<tokens {
            ColumnOrder.toKernelOrder(w.type, x + token * columns, columns: columns, into: ordered + token * columns)
        }
        if tokens < blasMinimumTokens {
            matMulByRows(w, x: ordered, tokens: tokens, y: y, pool: pool)
        } else {
            matMulByTiles(w, x: ordered, tokens: tokens, y: y, pool: pool)
        }
    }

    /// Whether ``ActivationPrecision/roundedTo16Bits`` rounds `type`'s
    /// activations on the active path (else they stay in `Float`).
    private static func roundsLogits(of type: GGMLType) -> Bool {
        lmgate_logits16_kernel(Int32(type.rawValue), KernelPath.active.code) != nil
    }

    /// Few tokens: each row is read from memory once, expanded into an L1
    /// buffer, and dotted with every token's activations, four tokens per
    /// pass over the buffer. In `Float` on every path: quantizing the
    /// activations of a short prompt too (as an integer-dot version of this
    /// did) took the fixtures' distance from exact past llama.cpp's (Q8_0
    /// file: 2 top-1 disagreements in 80 against llama.cpp's 1).
    private static func matMulByRows(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        let columns = w.columns
        if let kernel = lmgate_float_dot_vectors_kernel_for(Int32(w.type.rawValue), KernelPath.active.code) {
            matMulByRows(w, x: x, tokens: tokens, y: y, pool: pool, kernel: kernel)
            return
        }
        let kernels = RowKernelVariant.active
        pool.parallelFor(count: w.rows, granularity: 4) { rows in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            defer { buffer.deallocate() }
            for row in rows {
                kernels.dequantizeInKernelOrder(w.type, w.rowData(row), columns, buffer)
                var token = 0
                while token + 4 <= tokens {
                    let dots = kernels.f32x4(buffer, x + token * columns, columns, columns)
                    for lane in 0..<4 { y[(token + lane) * w.rows + row] = dots[lane] }
                    token += 4
                }
                while token < tokens {
                    y[token * w.rows + row] = kernels.f32(UnsafeRawPointer(buffer), x + token * columns, columns)
                    token += 1
                }
            }
        }
    }

    /// ``matMulByRows(_:x:tokens:y:pool:)`` with CKernels' several-vector
    /// `Float` kernel (Q8_0 on the AVX2 and AVX-512 paths): each block of a
    /// row is converted in registers once for four tokens, instead of the
    /// row being expanded into a buffer that is read back per four tokens
    /// (a quarter of an 8-stream decode step's CPU was that for the logits;
    /// docs/BENCHMARKS.md). Each token's result is bitwise the single-token
    /// kernel's.
    private static func matMulByRows(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>, pool: ComputePool,
        kernel: lmgate_float_dot_vectors_kernel
    ) {
        let columns = w.columns, rowCount = w.rows
        pool.parallelFor(count: rowCount, granularity: 4) { rows in
            for row in rows {
                var token = 0
                while token < tokens {
                    let count = min(4, tokens - token)
                    kernel(
                        w.rowData(row), x + token * columns, Int64(columns), Int64(columns), Int32(count),
                        y + token * rowCount + row, Int64(rowCount))
                    token += count
                }
            }
        }
    }

    /// Each token's product as ``matVec(_:x:y:pool:activations:)`` makes it
    /// (its activations quantized or rounded once, integer dot products
    /// with each stored row), every row read and unpacked once for several
    /// tokens by the several-vector kernel, whose result per token is
    /// bitwise the single-vector kernel's. Deallocates `vectors`.
    private static func matMulTokensAlone(
        _ w: WeightMatrix, _ vectors: QuantizedActivations, y: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        defer { vectors.deallocate() }
        let rowCount = w.rows
        pool.parallelFor(count: rowCount, granularity: 4) { rows in
            for row in rows {
                vectors.dots(w.rowData(row), into: y + row, stride: rowCount)
            }
        }
    }

    /// Many tokens: tiles of rows are expanded to `Float` and multiplied by
    /// single-threaded OpenBLAS, one tile per pool thread at a time (the pool
    /// provides the parallelism, so BLAS's own threads would only compete).
    ///
    /// A tile is as many rows as the pool hands one thread at once, up to
    /// ``tileBytes``: every `cblas_sgemm` call packs all of `x` again
    /// (`sgemm_oncopy`), so 64-row tiles spent 9 % of a 128-token prompt
    /// repacking the same activations.
    private static func matMulByTiles(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        _ = blasIsSingleThreaded
        let columns = w.columns
        let kernels = RowKernelVariant.active
        let maximumTileRows = max(tileRowsMultiple, tileBytes / (columns * MemoryLayout<Float>.stride))
        pool.parallelFor(count: w.rows, granularity: tileRowsMultiple) { rows in
            let tileRows = min(rows.count, maximumTileRows)
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * columns)
            defer { tile.deallocate() }
            var start = rows.lowerBound
            while start < rows.upperBound {
                let count = min(tileRows, rows.upperBound - start)
                for index in 0..<count {
                    kernels.dequantizeInKernelOrder(w.type, w.rowData(start + index), columns, tile + index * columns)
                }
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans,
                    Int32(tokens), Int32(count), Int32(columns),
                    1, x, Int32(columns),
                    tile, Int32(columns),
                    0, y + start, Int32(w.rows))
                start += count
            }
        }
    }

    /// Sets OpenBLAS to one thread (once per process), for callers outside
    /// this type that call `cblas_sgemm` from inside ``ComputePool`` jobs.
    public static func useSingleThreadedBLAS() {
        _ = blasIsSingleThreaded
    }

    /// OpenBLAS's thread count is process-wide; lmgate runs it on one thread
    /// per call and parallelises with ``ComputePool`` instead.
    private static let blasIsSingleThreaded: Void = {
        openblas_set_num_threads(1)
    }()
}
