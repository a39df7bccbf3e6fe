/// Scaled dot-product attention of new queries over a sequence's cached
/// keys and values, each query seeing only positions up to its own.
enum CausalAttention {
    /// For each of `tokens` new tokens (at positions `start`, `start + 1`, …)
    /// and each query head, writes `softmax(q·Kᵀ / √d) · V` to `output`
    /// (`tokens × queryDimension`). Query head `h` reads key/value head
    /// `h / (headCount / kvHeadCount)` (grouped-query attention). The keys
    /// and values of the new tokens must already be in `cache`.
    static func attend(
        queries: UnsafePointer<Float>, tokens: Int, start: Int, layer: Int,
        cache: KVCache, configuration c: ModelConfiguration,
        output: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        let headDimension = c.headDimension
        let groupSize = c.headCount / c.kvHeadCount
        let scale = 1 / Float(headDimension).squareRoot()
        let scoreCapacity = start + tokens
        pool.parallelFor(count: tokens * c.headCount) { items in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: scoreCapacity)
            defer { scores.deallocate() }
            for item in items {
                let token = item / c.headCount
                let head = item % c.headCount
                let kvOffset = (head / groupSize) * headDimension
                let query = queries + token * c.queryDimension + head * headDimension
                let visible = start + token + 1

                for position in 0..<visible {
                    let key = cache.key(layer: layer, position: position) + kvOffset
                    var dot: Float = 0
                    for index in 0..<headDimension {
                        dot += query[index] * key[index]
                    }
                    scores[position] = dot * scale
                }
                VectorOperations.softmax(scores, count: visible)

                let result = output + token * c.queryDimension + head * headDimension
                result.update(repeating: 0, count: headDimension)
                for position in 0..<visible {
                    let value = cache.value(layer: layer, position: position) + kvOffset
                    let weight = scores[position]
                    for index in 0..<headDimension {
                        result[index] += weight * value[index]
                    }
                }
            }
        }
    }
}
