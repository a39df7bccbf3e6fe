import CKernels

extension MatrixMultiply {
    /// Many tokens, where the path has a 16-bit-activation kernel for the
    /// weights' type (``KernelPath/roundsPromptActivations(of:)``): each
    /// token's activations are quantized once to 16 bits per 32-block
    /// (`lmgate_quantize_tokens16`),
    /// and the stored rows are multiplied with them in integers
    /// (`vpdpwssd`), each block's sum scaled in `Float`. No tile is expanded
    /// and nothing is handed to BLAS. Returns `false`, doing nothing, where
    /// the path has no such kernel.
    ///
    /// Accuracy: the weights are exact and the integer products too; each
    /// activation moves by at most half its block's step, `max|x| / 65534`,
    /// so a result moves by at most `Σ_blocks Σ|w| · max|x| / 65534` beyond
    /// `Float` rounding (258 times less than llama.cpp's 8-bit activations).
    /// Single-threaded, 128 tokens × 896 × 4864 on AMD EPYC (Zen 4): 6.6 ms
    /// against 12–17 ms for dequantized tiles and `cblas_sgemm`
    /// (docs/BENCHMARKS.md).
    static func matMulByTokens16(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>, pool: ComputePool
    ) -> Bool {
        guard let kernel = lmgate_tokens16_kernel_for(Int32(w.type.rawValue), KernelPath.active.code) else {
            return false
        }
        // The kernel scatters 16 tokens' results at 32-bit offsets.
        precondition(w.rows < 1 << 27, "a product of \(w.rows) rows")
        let columns = w.columns, blocks = columns / 32
        let groups = (tokens + 15) / 16
        let quants = UnsafeMutablePointer<Int16>.allocate(capacity: groups * 16 * columns)
        // Per token and block: the scale, then the block's sum.
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: 2 * groups * 16 * blocks)
        let sums = scales + groups * 16 * blocks
        defer {
            quants.deallocate()
            scales.deallocate()
        }
        // Groups of 16 tokens are laid out one after another, so the pool
        // quantizes them independently.
        pool.parallelFor(count: groups) { range in
            let first = range.lowerBound * 16
            lmgate_quantize_tokens16(
                x + first * columns, Int64(min(range.count * 16, tokens - first)), Int64(columns),
                quants + range.lowerBound * blocks * 512, scales + range.lowerBound * blocks * 16,
                sums + range.lowerBound * blocks * 16)
        }
        let rowCount = w.rows
        pool.parallelFor(count: rowCount, granularity: 4) { rows in
            kernel(
                w.rowData(rows.lowerBound), Int64(w.rowBytes), Int64(rows.count), quants, scales, sums, Int64(tokens),
                Int64(columns), y + rows.lowerBound, Int64(rowCount))
        }
        return true
    }
}

extension KernelPath {
    /// Whether prompt products (16 or more tokens) of `type` weights run on
    /// this path with activations rounded to 16 bits
    /// (``MatrixMultiply``'s `matMulByTokens16`) rather than in `Float`:
    /// the results are then no longer exact to `Float` rounding.
    public func roundsPromptActivations(of type: GGMLType) -> Bool {
        lmgate_tokens16_kernel_for(Int32(type.rawValue), code) != nil
    }

    /// Whether any weight type's prompt products run with 16-bit activations
    /// on this path.
    public var roundsPromptActivations: Bool { GGMLType.allCases.contains { roundsPromptActivations(of: $0) } }
}
