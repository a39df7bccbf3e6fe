import Foundation

/// Measures prompt processing and generation speed the way llama-bench
/// does: `ppN` runs N prompt tokens through an empty cache in one batch;
/// `tgN` generates N tokens one at a time from an empty cache. Token ids are
/// arbitrary (speed does not depend on them).
public struct ModelBenchmark {
    /// One measured test row.
    public struct Row: Sendable {
        /// `pp128`, `tg32`, …
        public let test: String
        /// Tokens per second of each repetition.
        public let tokensPerSecond: [Double]

        /// The mean of ``tokensPerSecond``.
        public var mean: Double { tokensPerSecond.reduce(0, +) / Double(max(tokensPerSecond.count, 1)) }
        /// The sample standard deviation of ``tokensPerSecond``.
        public var standardDeviation: Double {
            guard tokensPerSecond.count > 1 else { return 0 }
            let m = mean
            return (tokensPerSecond.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(tokensPerSecond.count - 1)).squareRoot()
        }
    }

    public let model: LanguageModel
    private let pool: ComputePool

    public init(model: LanguageModel, threads: Int) {
        self.model = model
        pool = ComputePool(threadCount: max(1, threads))
    }

    /// Runs `tokens` prompt tokens in one batch, `repetitions` times.
    public func promptProcessing(tokens: Int, repetitions: Int) throws -> Row {
        let input = (0..<tokens).map { Int32(($0 * 7919 + 13) % model.vocabularySize) }
        var speeds: [Double] = []
        _ = try model.forward(Array(input.prefix(min(tokens, 8))), cache: KVCache(for: model, capacity: tokens), pool: pool)  // warm-up
        for _ in 0..<repetitions {
            let cache = KVCache(for: model, capacity: tokens)
            let start = Date()
            _ = try model.forward(input, cache: cache, pool: pool)
            speeds.append(Double(tokens) / Date().timeIntervalSince(start))
        }
        return Row(test: "pp\(tokens)", tokensPerSecond: speeds)
    }

    /// Generates `tokens` tokens one at a time, `repetitions` times.
    public func textGeneration(tokens: Int, repetitions: Int) throws -> Row {
        var speeds: [Double] = []
        _ = try model.forward([1], cache: KVCache(for: model, capacity: 1), pool: pool)  // warm-up
        for _ in 0..<repetitions {
            let cache = KVCache(for: model, capacity: tokens)
            var token: Int32 = 1
            let start = Date()
            for _ in 0..<tokens {
                let logits = try model.forward([token], cache: cache, pool: pool)
                token = Int32(logits.indices.max { logits[$0] < logits[$1] } ?? 0)
            }
            speeds.append(Double(tokens) / Date().timeIntervalSince(start))
        }
        return Row(test: "tg\(tokens)", tokensPerSecond: speeds)
    }

    /// Generates `tokens` tokens for each of `sequences` sequences decoded
    /// together (``LanguageModel/step(_:pool:)``, one step per token),
    /// `repetitions` times; the speed is the aggregate over all sequences.
    public func batchedGeneration(sequences: Int, tokens: Int, repetitions: Int) throws -> Row {
        var speeds: [Double] = []
        for _ in 0..<repetitions {
            let caches = (0..<sequences).map { _ in KVCache(for: model, capacity: tokens) }
            var next = (0..<sequences).map { Int32(1 + $0) }
            let start = Date()
            for _ in 0..<tokens {
                let logits = try model.step(zip(next, caches).map { SequenceChunk(tokens: [$0], cache: $1) }, pool: pool)
                next = logits.map { row in Int32(row.flatMap { row in row.indices.max { row[$0] < row[$1] } } ?? 0) }
            }
            speeds.append(Double(sequences * tokens) / Date().timeIntervalSince(start))
        }
        return Row(test: "tg\(tokens) x\(sequences)", tokensPerSecond: speeds)
    }

    /// Runs `prompts` new prompts of `tokens` tokens each beside `decoding`
    /// sequences that decode one token (after 32 tokens of their own), the
    /// scheduler's step when requests arrive while others stream, in two
    /// ways, `repetitions` times each: in one ``LanguageModel/step(_:pool:)``
    /// (row `… one step`), and as the scheduler ran it before batched
    /// prefill — each prompt in its own forward pass, then the decoding
    /// sequences together (row `… separate`). The speed is all tokens run
    /// (prompts and decodes) per second.
    public func promptsBesideDecoding(prompts: Int, tokens: Int, decoding: Int, repetitions: Int) throws -> [Row] {
        let history = 32
        let input = (0..<tokens + history).map { Int32(($0 * 7919 + 13) % model.vocabularySize) }
        let promptCaches = (0..<prompts).map { _ in KVCache(for: model, capacity: tokens) }
        let decodingCaches = (0..<decoding).map { _ in KVCache(for: model, capacity: history + 1) }
        for cache in decodingCaches { _ = try model.forward(Array(input.prefix(history)), cache: cache, pool: pool) }
        let promptChunks = promptCaches.enumerated().map { index, cache in
            SequenceChunk(tokens: Array(input[index % history..<index % history + tokens]), cache: cache)
        }
        let decodingChunks = decodingCaches.enumerated().map { SequenceChunk(tokens: [Int32(1 + $0)], cache: $1) }
        func reset() {
            for cache in promptCaches { cache.truncate(to: 0) }
            for cache in decodingCaches { cache.truncate(to: history) }
        }
        var together: [Double] = [], separate: [Double] = []
        let all = Double(prompts * tokens + decoding)
        _ = try model.step(promptChunks + decodingChunks, pool: pool)  // warm-up
        for _ in 0..<repetitions {
            reset()
            var start = Date()
            _ = try model.step(promptChunks + decodingChunks, pool: pool)
            together.append(all / Date().timeIntervalSince(start))
            reset()
            start = Date()
            for chunk in promptChunks { _ = try model.forward(chunk.tokens, cache: chunk.cache, pool: pool) }
            if !decodingChunks.isEmpty { _ = try model.step(decodingChunks, pool: pool) }
            separate.append(all / Date().timeIntervalSince(start))
        }
        let test = "pp\(tokens) x\(prompts) + tg1 x\(decoding)"
        return [Row(test: test + " one step", tokensPerSecond: together), Row(test: test + " separate", tokensPerSecond: separate)]
    }
}
