/// Scaled dot-product attention of new queries over their sequences' cached
/// keys and values, each query seeing only positions up to its own (and on
/// a sliding-window layer, only the window's last positions).
enum CausalAttention {
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
        let headDimension = c.headDimension
        let groupSize = c.headCount / c.kvHeadCount
        let scale = c.attentionScale
        // A sliding layer's query sees its own position and the window − 1 before it.
        let window = c.slidingWindow.flatMap { $0.slides(layer: layer) ? $0.window : nil }
        // Work items are (row, head) pairs, numbered row-major over the
        // batch; `owner[row]` is the sequence holding the row.
        var owner: [Int] = []
        var scoreCapacity = 1
        for (index, sequence) in sequences.enumerated() {
            owner += repeatElement(index, count: sequence.rows.count)
            scoreCapacity = max(scoreCapacity, sequence.start + sequence.rows.count)
        }
        owner.withUnsafeBufferPointer { owner in
            pool.parallelFor(count: owner.count * c.headCount) { items in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: scoreCapacity)
                defer { scores.deallocate() }
                for item in items {
                    let row = item / c.headCount
                    let head = item % c.headCount
                    let sequence = sequences[owner[row]]
                    let cache = sequence.cache
                    let kvOffset = (head / groupSize) * headDimension
                    let query = queries + row * c.queryDimension + head * headDimension
                    let end = sequence.start + row - sequence.rows.lowerBound + 1
                    let first = window.map { max(0, end - $0) } ?? 0

                    for position in first..<end {
                        let key = cache.key(layer: layer, position: position) + kvOffset
                        var dot: Float = 0
                        for index in 0..<headDimension {
                            dot += query[index] * key[index]
                        }
                        scores[position - first] = dot * scale
                    }
                    VectorOperations.softmax(scores, count: end - first)

                    let result = output + row * c.queryDimension + head * headDimension
                    result.update(repeating: 0, count: headDimension)
                    for position in first..<end {
                        let value = cache.value(layer: layer, position: position) + kvOffset
                        let weight = scores[position - first]
                        for index in 0..<headDimension {
                            result[index] += weight * value[index]
                        }
                    }
                }
            }
        }
    }
}
