import CKernels

extension MatrixMultiply {
    /// Many tokens of F16 weights, where the path has CKernels' F16 prompt
    /// kernel (AVX-512): the stored rows are converted to `Float` in
    /// registers and multiplied with the activations where they lie, in
    /// register tiles of 4 rows × 6 tokens (`lmgate_f16_tiles_kernel`), the
    /// pool splitting the rows. No tile is expanded to `Float` and nothing is
    /// handed to BLAS, whose copies of the expanded tiles and of the
    /// activations (`sgemm_incopy`, `sgemm_oncopy`) and the expansion itself
    /// were 14 % of a 128-token F16 prompt. Returns `false`, doing nothing,
    /// for other types or where the path has no such kernel.
    ///
    /// Accuracy: as ``matMulByTiles``, products and sums in `Float`; only the
    /// order of the additions differs from `cblas_sgemm`'s. A result depends
    /// only on its row and token, not on the other tokens of the call.
    static func matMulHalfFloatTiles(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>, pool: ComputePool
    ) -> Bool {
        guard w.type == .f16, let kernel = lmgate_f16_tiles_kernel_for(KernelPath.active.code) else { return false }
        let columns = w.columns, rowCount = w.rows
        // Multiples of the kernel's 4-row tile, in ranges long enough that
        // a job's overhead stays small beside a range's work.
        pool.parallelFor(count: rowCount, granularity: 16) { rows in
            kernel(
                w.rowData(rows.lowerBound), Int64(w.rowBytes), Int64(rows.count), x, Int64(tokens), Int64(columns),
                y + rows.lowerBound, Int64(rowCount))
        }
        return true
    }
}
