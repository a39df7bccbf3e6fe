import Foundation

/// Chooses each next token from the model's logits: logit bias, then
/// repetition/presence/frequency penalties over the recent tokens, then
/// greedy choice (temperature 0) or top-k → temperature → top-p → min-p and
/// a draw from the seeded generator.
public struct Sampler: Sendable {
    /// The parameters in force.
    public let parameters: SamplingParameters
    private var generator: SeededRandomGenerator

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        generator = SeededRandomGenerator(seed: parameters.seed)
    }

    /// Applies logit bias and penalties for `history` (the tokens so far) to `logits`.
    public func adjust(_ logits: inout [Float], history: [Int]) {
        for (token, bias) in parameters.logitBias where logits.indices.contains(token) {
            logits[token] += bias
        }
        let p = parameters
        guard p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0 else { return }
        var counts: [Int: Int] = [:]
        for token in history.suffix(max(p.penaltyWindow, 0)) where logits.indices.contains(token) {
            counts[token, default: 0] += 1
        }
        for (token, count) in counts {
            var logit = logits[token]
            if p.repetitionPenalty != 1 {
                logit = logit > 0 ? logit / p.repetitionPenalty : logit * p.repetitionPenalty
            }
            logit -= Float(count) * p.frequencyPenalty + p.presencePenalty
            logits[token] = logit
        }
    }

    /// The tokens that may be drawn and their probabilities (summing to 1),
    /// after top-k, temperature, top-p and min-p; a single token when greedy.
    public func candidates(_ logits: [Float]) -> [(token: Int, probability: Double)] {
        let p = parameters
        guard p.temperature > 0 else {
            let best = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) } ?? 0
            return [(best, 1)]
        }
        // Higher logit first; equal logits by lower token id.
        let ranksBefore = { (a: Int, b: Int) -> Bool in logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        var order: [Int]
        if p.topK > 0 && p.topK < logits.count / 8 {
            // Top-k by one pass with a k-entry heap instead of sorting the
            // whole vocabulary (150k entries) for every token.
            order = Self.best(p.topK, of: logits, by: ranksBefore)
        } else {
            order = logits.indices.filter { logits[$0] > -.infinity }
            order.sort(by: ranksBefore)
            if p.topK > 0, order.count > p.topK { order.removeSubrange(p.topK...) }
        }
        guard let top = order.first else { return [] }
        let maximum = Double(logits[top])
        var weights = order.map { Foundation.exp((Double(logits[$0]) - maximum) / Double(p.temperature)) }
        var total = weights.reduce(0, +)
        if p.topP < 1 {
            var cumulative = 0.0
            var keep = weights.count
            for (index, weight) in weights.enumerated() {
                cumulative += weight / total
                if cumulative >= Double(p.topP) { keep = index + 1; break }
            }
            order.removeSubrange(keep...)
            weights.removeSubrange(keep...)
        }
        if p.minP > 0 {
            // weights[0] is the largest; the threshold is relative to it.
            let threshold = Double(p.minP) * weights[0]
            let keep = weights.firstIndex { $0 < threshold } ?? weights.count
            order.removeSubrange(keep...)
            weights.removeSubrange(keep...)
        }
        total = weights.reduce(0, +)
        return zip(order, weights).map { ($0, $1 / total) }
    }

    /// The `count` best finite-logit token ids in rank order, found with a
    /// binary min-heap (its root is the worst of the best so far).
    static func best(_ count: Int, of logits: [Float], by ranksBefore: (Int, Int) -> Bool) -> [Int] {
        var heap: [Int] = []
        heap.reserveCapacity(count)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1, right = left + 1
                var worst = parent
                if left < heap.count && ranksBefore(heap[worst], heap[left]) { worst = left }
                if right < heap.count && ranksBefore(heap[worst], heap[right]) { worst = right }
                if worst == parent { return }
                heap.swapAt(parent, worst)
                parent = worst
            }
        }
        for token in logits.indices where logits[token] > -.infinity {
            if heap.count < count {
                heap.append(token)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard ranksBefore(heap[parent], heap[child]) else { break }
                    heap.swapAt(parent, child)
                    child = parent
                }
            } else if ranksBefore(token, heap[0]) {
                heap[0] = token
                siftDown(0)
            }
        }
        return heap.sorted(by: ranksBefore)
    }

    /// Chooses the next token from `logits` given the tokens so far.
    public mutating func sample(_ logits: [Float], history: [Int] = []) -> SampledToken {
        var adjusted = logits
        adjust(&adjusted, history: history)
        let choices = candidates(adjusted)
        var token = choices.first?.token ?? 0
        if choices.count > 1 {
            var draw = Double(generator.next() >> 11) * 0x1p-53
            token = choices.last?.token ?? token
            for choice in choices {
                draw -= choice.probability
                if draw < 0 { token = choice.token; break }
            }
        }
        // One normalizer for the token's and the alternatives' log-probabilities.
        let normalizer = adjusted.withUnsafeBufferPointer(LogSumExp.of)
        let logprob = adjusted.indices.contains(token) ? Double(adjusted[token]) - normalizer : -.infinity
        return SampledToken(token: token, logprob: logprob, topLogprobs: Self.top(parameters.topLogprobs, adjusted, normalizer: normalizer))
    }

    private static func top(_ count: Int, _ logits: [Float], normalizer: Double) -> [SampledToken.Alternative] {
        guard count > 0 else { return [] }
        var best: [Int] = []
        for token in logits.indices {
            if best.count < count || logits[token] > logits[best[best.count - 1]] {
                let position = best.firstIndex { logits[$0] < logits[token] } ?? best.count
                best.insert(token, at: position)
                if best.count > count { best.removeLast() }
            }
        }
        return best.map { SampledToken.Alternative(token: $0, logprob: Double(logits[$0]) - normalizer) }
    }
}
