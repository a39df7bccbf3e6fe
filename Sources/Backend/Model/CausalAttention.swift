import COpenBLAS
import Kernels

/// Scaled dot-product attention of new queries over their sequences' cached
/// keys and values, each query seeing only positions up to its own (and on
/// a sliding-window layer, only the window's last positions).
enum CausalAttention {
    /// From this many rows on, a sequence's attention runs as matrix
    /// products (``attendByMatrices(_:)``); below it (decode), one query at a
    /// time. Scalar dot products were 8.5 % of a 128-token prompt.
    static let matrixMinimumRows = 16

    /// Query rows per matrix work item: the scores of a block reach the
    /// block's last position, so larger blocks compute more masked scores.
    static let matrixBlockRows = 32

    /// For each row of each sequence (row `r` at position `start + r −
    /// rows.lowerBound` of its sequence) and each query head, writes
    /// `softmax(s · q·Kᵀ) · V` over that sequence's cache to `output`
    /// (`s` is ``ModelConfiguration/attentionScale``, 1/√d but for Gemma 3 27B)
    /// (`rows × queryDimension`, in the batch's row order). Query head `h`
    /// reads key/value head `h / (headCount / kvHeadCount)` (grouped-query
    /// attention). The keys and values of the new rows must already be in
    /// the caches.
    static func attend(
        queries: UnsafePointer<Float>, sequences: [SequenceRows], layer: Int,
        configuration c: ModelConfiguration,
        output: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        let shape = Shape(configuration: c, layer: layer)
        var blocks: [MatrixBlock] = []
        var singles: [SequenceRows] = []
        for sequence in sequences {
            if sequence.rows.count >= matrixMinimumRows, shape.holdsContiguously(sequence) {
                for start in stride(from: sequence.rows.lowerBound, to: sequence.rows.upperBound, by: matrixBlockRows) {
                    let rows = start..<min(start + matrixBlockRows, sequence.rows.upperBound)
                    blocks.append(MatrixBlock(sequence: sequence, rows: rows))
                }
            } else {
                singles.append(sequence)
            }
        }
        if !blocks.isEmpty {
            attendByMatrices(blocks, queries: queries, shape: shape, output: output, pool: pool)
        }
        if !singles.isEmpty {
            attendByRows(singles, queries: queries, shape: shape, output: output, pool: pool)
        }
    }

    /// What one layer's attention needs of the configuration.
    struct Shape {
        let layer: Int
        let headCount: Int
        let headDimension: Int
        let groupSize: Int
        let queryDimension: Int
        let kvDimension: Int
        let scale: Float
        /// A sliding layer's query sees its own position and the window − 1 before it.
        let window: Int?

        init(configuration c: ModelConfiguration, layer: Int) {
            self.layer = layer
            headCount = c.headCount
            headDimension = c.headDimension
            groupSize = c.headCount / c.kvHeadCount
            queryDimension = c.queryDimension
            kvDimension = c.kvDimension
            scale = c.attentionScale
            window = c.slidingWindow.flatMap { $0.slides(layer: layer) ? $0.window : nil }
        }

        /// The positions row `row` of `sequence` attends to.
        func positions(of row: Int, in sequence: SequenceRows) -> Range<Int> {
            let end = sequence.start + row - sequence.rows.lowerBound + 1
            return (window.map { max(0, end - $0) } ?? 0)..<end
        }

        /// Whether the positions `sequence`'s rows read lie one after another
        /// in the cache (a sliding layer's ring may wrap between them).
        func holdsContiguously(_ sequence: SequenceRows) -> Bool {
            let first = positions(of: sequence.rows.lowerBound, in: sequence).lowerBound
            let last = positions(of: sequence.rows.upperBound - 1, in: sequence).upperBound - 1
            let cache = sequence.cache
            return cache.key(layer: layer, position: last) == cache.key(layer: layer, position: first) + (last - first) * kvDimension
        }

        /// Calls `body(unit, head, scratch)` for every head of each of
        /// `units` work units, the pairs split over the pool; `scratch` is
        /// `scratch` floats of the calling thread's own.
        func forEachHead(
            of units: Int, scratch: Int, pool: ComputePool,
            _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void
        ) {
            pool.parallelFor(count: units * headCount) { items in
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
                defer { buffer.deallocate() }
                for item in items {
                    body(item / headCount, item % headCount, buffer)
                }
            }
        }
    }

    /// Consecutive rows of one sequence, attended to together.
    struct MatrixBlock {
        let sequence: SequenceRows
        let rows: Range<Int>
    }

    /// Per block and head: the scores of all its rows against all the
    /// positions any of them reads, as one product `Q·Kᵀ`; positions a row
    /// does not read are zeroed after the softmax of those it does; then the
    /// output is `scores · V`. Single-threaded BLAS per work item, the pool
    /// splitting the (block, head) items.
    private static func attendByMatrices(
        _ blocks: [MatrixBlock], queries: UnsafePointer<Float>, shape s: Shape,
        output: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        MatrixMultiply.useSingleThreadedBLAS()
        var scoreCapacity = 1
        for block in blocks {
            scoreCapacity = max(scoreCapacity, block.rows.count * (block.sequence.start + block.sequence.rows.count))
        }
        s.forEachHead(of: blocks.count, scratch: scoreCapacity, pool: pool) { index, head, scores in
            let block = blocks[index]
            let sequence = block.sequence
            let first = s.positions(of: block.rows.lowerBound, in: sequence).lowerBound
            let end = s.positions(of: block.rows.upperBound - 1, in: sequence).upperBound
            let width = end - first
            let kvOffset = (head / s.groupSize) * s.headDimension
            let keys = sequence.cache.key(layer: s.layer, position: first) + kvOffset
            let values = sequence.cache.value(layer: s.layer, position: first) + kvOffset
            let query = queries + block.rows.lowerBound * s.queryDimension + head * s.headDimension
            let rowCount = Int32(block.rows.count)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans,
                rowCount, Int32(width), Int32(s.headDimension),
                s.scale, query, Int32(s.queryDimension),
                keys, Int32(s.kvDimension),
                0, scores, Int32(width))
            for (offset, row) in block.rows.enumerated() {
                let rowScores = scores + offset * width
                let seen = s.positions(of: row, in: sequence)
                let lower = seen.lowerBound - first
                let upper = seen.upperBound - first
                rowScores.update(repeating: 0, count: lower)
                VectorOperations.softmax(rowScores + lower, count: upper - lower)
                (rowScores + upper).update(repeating: 0, count: width - upper)
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans,
                rowCount, Int32(s.headDimension), Int32(width),
                1, scores, Int32(width),
                values, Int32(s.kvDimension),
                0, output + block.rows.lowerBound * s.queryDimension + head * s.headDimension, Int32(s.queryDimension))
        }
    }

    /// One (row, head) pair at a time: the dot products of the query with
    /// each key it reads, their softmax, the weighted sum of the values.
    private static func attendByRows(
        _ sequences: [SequenceRows], queries: UnsafePointer<Float>, shape s: Shape,
        output: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        // Work items are (row, head) pairs, numbered over these sequences'
        // rows in order; `rows[i]` is the batch row, `owner[i]` its sequence.
        var rows: [Int] = []
        var owner: [Int] = []
        var scoreCapacity = 1
        for (index, sequence) in sequences.enumerated() {
            rows += sequence.rows
            owner += repeatElement(index, count: sequence.rows.count)
            scoreCapacity = max(scoreCapacity, sequence.start + sequence.rows.count)
        }
        s.forEachHead(of: rows.count, scratch: scoreCapacity, pool: pool) { index, head, scores in
            let row = rows[index]
            let sequence = sequences[owner[index]]
            let cache = sequence.cache
            let kvOffset = (head / s.groupSize) * s.headDimension
            let query = queries + row * s.queryDimension + head * s.headDimension
            let seen = s.positions(of: row, in: sequence)

            for position in seen {
                let key = cache.key(layer: s.layer, position: position) + kvOffset
                var dot: Float = 0
                for column in 0..<s.headDimension {
                    dot += query[column] * key[column]
                }
                scores[position - seen.lowerBound] = dot * s.scale
            }
            VectorOperations.softmax(scores, count: seen.count)

            let result = output + row * s.queryDimension + head * s.headDimension
            result.update(repeating: 0, count: s.headDimension)
            for position in seen {
                let value = cache.value(layer: s.layer, position: position) + kvOffset
                let weight = scores[position - seen.lowerBound]
                for column in 0..<s.headDimension {
                    result[column] += weight * value[column]
                }
            }
        }
    }
}
