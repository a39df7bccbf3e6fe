import Foundation

/// Scaled dot-product attention in which every token sees every token of
/// its own input (an encoder: no causal mask, no cache).
enum BidirectionalAttention {
    /// For each row `r` of each span and each head, writes
    /// `softmax(q·Kᵀ / √d) · V` over the rows of that span to `output`.
    /// `queries`, `keys`, `values` and `output` are `rows × (headCount · headDimension)`.
    static func attend(
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, spans: [Range<Int>],
        headCount: Int, headDimension: Int, output: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        let width = headCount * headDimension
        let scale = 1 / Float(headDimension).squareRoot()
        var owner: [Int] = []
        var longest = 1
        for (index, span) in spans.enumerated() {
            owner += repeatElement(index, count: span.count)
            longest = max(longest, span.count)
        }
        owner.withUnsafeBufferPointer { owner in
            pool.parallelFor(count: owner.count * headCount) { items in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: longest)
                defer { scores.deallocate() }
                for item in items {
                    let row = item / headCount
                    let offset = (item % headCount) * headDimension
                    let span = spans[owner[row]]
                    let query = queries + row * width + offset
                    for (slot, other) in span.enumerated() {
                        let key = keys + other * width + offset
                        var dot: Float = 0
                        for index in 0..<headDimension { dot += query[index] * key[index] }
                        scores[slot] = dot * scale
                    }
                    VectorOperations.softmax(scores, count: span.count)
                    let result = output + row * width + offset
                    result.update(repeating: 0, count: headDimension)
                    for (slot, other) in span.enumerated() {
                        let value = values + other * width + offset
                        let weight = scores[slot]
                        for index in 0..<headDimension { result[index] += weight * value[index] }
                    }
                }
            }
        }
    }
}
