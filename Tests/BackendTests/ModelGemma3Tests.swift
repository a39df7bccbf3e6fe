import Foundation
import Testing

@testable import Backend

/// Gemma 3's configuration, clear errors for malformed gemma3 files, and
/// the sliding-window KV cache: rings that hold only a window's positions on
/// sliding layers, checked against full computations of the same tokens
/// (the forward pass itself is checked against the exact reference and
/// llama.cpp in ModelReferenceTests, on prompts far longer than the window).
@Suite("Gemma 3 and sliding-window KV")
struct ModelGemma3Tests {
    static let fixture = "tiny-gemma3-f16"

    /// The GGUF file of `builder` (mapped; it outlives the temporary file).
    private func file(_ builder: GGUFTestModelBuilder) throws -> GGUFFile {
        let temporary = try TemporaryFile(builder.bytes())
        return try GGUFFile(path: temporary.path)
    }

    private func loadError(_ builder: GGUFTestModelBuilder) throws -> GGUFError {
        try #require(throws: GGUFError.self) { _ = try LanguageModel(file: file(builder)) }
    }

    private func configuration(_ builder: GGUFTestModelBuilder) throws -> ModelConfiguration {
        try ModelConfiguration(metadata: file(builder).metadata)
    }

    @Test("the fixture's layers: five sliding with base 10 000 and no scaling, then one global with the file's base and linear scaling")
    func fixtureConfiguration() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let c = model.configuration
        let sliding = try #require(c.slidingWindow)
        #expect(sliding.window == 8)
        #expect(sliding.slidingLayers == [true, true, true, true, true, false])
        #expect(c.attentionScale == 1 / Float(16).squareRoot())
        #expect(c.finalLogitSoftcap == nil)
        #expect(c.ropeConfiguration(layer: 0).ropeFrequencyBase == 10_000 && c.ropeConfiguration(layer: 0).ropeScaling == .none)
        #expect(c.ropeConfiguration(layer: 5).ropeFrequencyBase == 1_000_000 && c.ropeConfiguration(layer: 5).ropeScaling.factor == 4)
    }

    @Test("the layer pattern: a count, one flag per layer, or 0 for all sliding; a window of 0 is none")
    func layerPatterns() throws {
        var builder = GGUFTestModelBuilder.tinyGemma3()
        builder.set("gemma3.block_count", .uint32(4))
        builder.set("gemma3.attention.sliding_window_pattern", .uint32(2))
        #expect(try configuration(builder).slidingWindow?.slidingLayers == [true, false, true, false])
        builder.set("gemma3.attention.sliding_window_pattern", .uint32(0))
        #expect(try configuration(builder).slidingWindow?.slidingLayers == [true, true, true, true])
        builder.set("gemma3.attention.sliding_window_pattern", .boolArray([false, true, true, false]))
        #expect(try configuration(builder).slidingWindow?.slidingLayers == [false, true, true, false])
        builder.set("gemma3.attention.sliding_window", .uint32(0))
        #expect(try configuration(builder).slidingWindow == nil)
        // The 27B's 62 layers scale attention by its query_pre_attn_scalar, 168 = 5376 / 32.
        let scale = ModelConfiguration.attentionScale(family: .gemma3, layerCount: 62, embeddingLength: 5376, headCount: 32, headDimension: 128)
        #expect(scale == 1 / Float(168).squareRoot())
    }

    @Test("missing post-norms, a wrong window or pattern, and mismatched shapes are clear errors")
    func malformedFiles() throws {
        #expect(try LanguageModel(file: file(.tinyGemma3())).configuration.slidingWindow?.slidingLayers == [true, true])
        for name in ["blk.1.post_attention_norm.weight", "blk.0.post_ffw_norm.weight", "blk.0.attn_q_norm.weight"] {
            var builder = GGUFTestModelBuilder.tinyGemma3()
            builder.remove(name)
            let error = try loadError(builder)
            #expect(error.description.contains(name), "\(error)")
        }

        var builder = GGUFTestModelBuilder.tinyGemma3()
        builder.set("gemma3.attention.sliding_window", .int32(-4))
        var error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("gemma3.attention.sliding_window"), "\(error)")

        builder = .tinyGemma3()
        builder.set("gemma3.attention.sliding_window", .string("4"))
        error = try loadError(builder)
        #expect(error.code == .metadataTypeMismatch && error.description.contains("gemma3.attention.sliding_window"), "\(error)")

        builder = .tinyGemma3()
        builder.set("gemma3.attention.sliding_window_pattern", .boolArray([true, false, true]))
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("sliding_window_pattern") && error.description.contains("3"), "\(error)")

        builder = .tinyGemma3()
        builder.set("gemma3.rope.freq_base_swa", .float32(-1))
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("freq_base_swa"), "\(error)")

        builder = .tinyGemma3()
        builder.set("gemma3.final_logit_softcapping", .float32(-30))
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("final_logit_softcapping"), "\(error)")

        builder = .tinyGemma3()
        builder.remove("blk.0.post_ffw_norm.weight")
        builder.tensor("blk.0.post_ffw_norm.weight", [7]) { _ in 1 }
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("post_ffw_norm"), "\(error)")

        builder = .tinyGemma3()
        builder.remove("blk.1.ffn_gate.weight")
        builder.tensor("blk.1.ffn_gate.weight", [8, 15]) { _ in 0 }
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("ffn_gate"), "\(error)")
    }

    @Test("final logit soft-capping bounds the logits by the cap")
    func softcapping() throws {
        var builder = GGUFTestModelBuilder.tinyGemma3()
        let plain = try file(builder)
        builder.set("gemma3.final_logit_softcapping", .float32(0.5))
        let capped = try file(builder)
        let pool = ComputePool(threadCount: 1)
        let tokens: [Int32] = [3, 1, 4, 1, 5]
        let a = try LanguageModel(file: plain), b = try LanguageModel(file: capped)
        let raw = try a.forward(tokens, cache: KVCache(for: a), pool: pool, logitsFrom: 0)
        let bounded = try b.forward(tokens, cache: KVCache(for: b), pool: pool, logitsFrom: 0)
        #expect(zip(raw, bounded).allSatisfy { abs(0.5 * tanh($0 / 0.5) - $1) < 1e-6 })
    }

    @Test("sliding layers keep a ring of twice the window; the KV size the model list reports counts the rings")
    func ringMemory() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let cache = KVCache(for: model, capacity: 1000)
        #expect(cache.slots == [16, 16, 16, 16, 16, 1000])
        #expect(KVCache(for: model, capacity: 10).slots == [10, 10, 10, 10, 10, 10])
        let slots: [Int] = model.configuration.kvCacheSlots(capacity: 2048)
        #expect(slots.reduce(0, +) == 2128)
    }

    /// The first `count` tokens of a paragraph (far longer than the window).
    private func longPrompt(_ count: Int) throws -> [Int32] {
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: GGUFFile(path: FixtureModels.path(Self.fixture))))
        let text = String(repeating: "A sliding window keeps the last few positions of every local layer, while the global layers see them all. ", count: 8)
        let tokens = tokenizer.encode(text).map { Int32($0) }
        try #require(tokens.count >= count)
        return Array(tokens.prefix(count))
    }

    @Test("one pass, pieces and token by token give the same logits over a ring that wraps many times")
    func ringBatchesAgree() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let pool = ComputePool(threadCount: 2)
        let tokens = try longPrompt(70)
        let whole = try model.forward(tokens, cache: KVCache(for: model, capacity: 100), pool: pool, logitsFrom: 0)
        let pieces = KVCache(for: model, capacity: 100)
        var piecewise: [Float] = []
        for start in stride(from: 0, to: tokens.count, by: 6) {
            piecewise += try model.forward(Array(tokens[start..<min(tokens.count, start + 6)]), cache: pieces, pool: pool, logitsFrom: 0)
        }
        let single = KVCache(for: model, capacity: 100)
        var stepwise: [Float] = []
        try KernelPath.$override.withValue(.portable) {
            for token in tokens { stepwise += try model.forward([token], cache: single, pool: pool) }
        }
        #expect(whole.count == piecewise.count && whole.count == stepwise.count)
        let largest = zip(whole, piecewise).map { abs($0 - $1) }.max() ?? .infinity
        let largestStep = zip(whole, stepwise).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest < 1e-3 && largestStep < 1e-3, "\(largest) \(largestStep)")
    }

    /// A cache no longer than the ring stores positions one after another,
    /// so a prompt of `CausalAttention.matrixMinimumRows` or more rows is
    /// attended as matrix products, the window masked inside each product's
    /// scores; token by token, it is attended one query at a time.
    @Test("the window masked inside matrix-product attention equals attention one query at a time")
    func windowInMatrixAttention() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let pool = ComputePool(threadCount: 2)
        let count = 16
        #expect(count >= CausalAttention.matrixMinimumRows)
        let tokens = try longPrompt(count)
        #expect(KVCache(for: model, capacity: count).slots.allSatisfy { $0 == count })
        let whole = try model.forward(tokens, cache: KVCache(for: model, capacity: count), pool: pool, logitsFrom: 0)
        let single = KVCache(for: model, capacity: count)
        var stepwise: [Float] = []
        for token in tokens { stepwise += try model.forward([token], cache: single, pool: pool) }
        #expect(whole.count == stepwise.count)
        let largest = zip(whole, stepwise).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest < 1e-3, "\(largest)")
    }

    @Test("a ring cut back within its slack continues as a fresh cache would; cut back further it starts over")
    func ringPrefixReuse() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let pool = ComputePool(threadCount: 2)
        let tokens = try longPrompt(60)
        let continuation: [Int32] = [651, 9_022, 236_761, 107, 2_094]
        for cut in [59, 55, 51] {
            let cache = KVCache(for: model, capacity: 100)
            _ = try model.forward(tokens, cache: cache, pool: pool)
            #expect(cache.reusablePrefix(upTo: cut) == cut)
            cache.truncate(to: cut)
            let reused = try model.forward(continuation, cache: cache, pool: pool, logitsFrom: 0)
            let fresh = try model.forward(Array(tokens.prefix(cut)) + continuation, cache: KVCache(for: model, capacity: 100), pool: pool, logitsFrom: cut)
            let largest = zip(reused, fresh).map { abs($0 - $1) }.max() ?? .infinity
            #expect(largest < 1e-3, "cut at \(cut): \(largest)")
        }
        // Position 50's window starts at 43, which writing position 59 overwrote (59 − 16).
        let cache = KVCache(for: model, capacity: 100)
        _ = try model.forward(tokens, cache: cache, pool: pool)
        #expect(cache.reusablePrefix(upTo: 50) == 0)
        cache.truncate(to: 50)
        #expect(cache.count == 0)
    }

    @Test("a kept cache is reused for as much of a new prompt as its rings can continue")
    func prefixCachePool() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let pool = ComputePool(threadCount: 2)
        let tokens = try longPrompt(60)
        var kept = PrefixCachePool(capacity: 1)
        let cache = KVCache(for: model, capacity: 64)
        _ = try model.forward(tokens, cache: cache, pool: pool)
        kept.put(cache, tokens: tokens.map(Int.init))
        // The next turn rewrites the last 4 tokens: 56 positions are reused.
        let next = Array(tokens.prefix(56)) + [651, 9_022, 236_761]
        let taken = kept.take(forPrompt: next.map(Int.init))
        let (reusedCache, reused) = try #require(taken)
        #expect(reused == 56 && reusedCache.count == 56)
        let continued = try model.forward(Array(next.dropFirst(reused)), cache: reusedCache, pool: pool)
        let fresh = try model.forward(next, cache: KVCache(for: model, capacity: 64), pool: pool)
        #expect(zip(continued, fresh).allSatisfy { abs($0 - $1) < 1e-3 })
        // A prompt sharing only the first 20 tokens cannot continue the rings.
        kept.put(reusedCache, tokens: (next + [0]).map(Int.init))
        let other = Array(tokens.prefix(20)) + [7, 8, 9]
        let takenAgain = kept.take(forPrompt: other.map(Int.init))
        let (emptied, none) = try #require(takenAgain)
        #expect(none == 0 && emptied.count == 0)
    }

    @Test("a cache grown from a wrapped ring continues as a fresh one")
    func grownRing() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let pool = ComputePool(threadCount: 2)
        let tokens = try longPrompt(60)
        for small in [12, 40] {
            var cache = KVCache(for: model, capacity: small)
            _ = try model.forward(Array(tokens.prefix(small)), cache: cache, pool: pool)
            cache = cache.growing(toHold: 60, limit: 100, model: model)
            #expect(cache.count == small && cache.capacity >= 60)
            let grown = try model.forward(Array(tokens[small...]), cache: cache, pool: pool, logitsFrom: 0)
            let fresh = try model.forward(tokens, cache: KVCache(for: model, capacity: 60), pool: pool, logitsFrom: small)
            let largest = zip(grown, fresh).map { abs($0 - $1) }.max() ?? .infinity
            #expect(largest < 1e-3, "grown from \(small): \(largest)")
        }
    }

    struct ExactSequences: Decodable {
        struct Sequence: Decodable {
            let tokens: [Int32]
            let exactTop: [[[Double]]]
            enum CodingKeys: String, CodingKey { case tokens, exactTop = "exact_top" }
        }
        let sequences: [Sequence]
    }

    /// Teacher-forced over seeded random tokens, every position's top five
    /// log-probabilities equal those of scripts/exact_reference.py (numpy,
    /// F32, an independent implementation of the same block), beyond the window too.
    @Test("the forward pass equals the exact numpy reference at every position")
    func matchesExactSequences() throws {
        let model = try LanguageModel(path: FixtureModels.path(Self.fixture))
        let url = try #require(Bundle.module.url(forResource: Self.fixture + ".exact", withExtension: "json", subdirectory: "Fixtures/models"))
        let reference = try JSONDecoder().decode(ExactSequences.self, from: Data(contentsOf: url))
        let pool = ComputePool(threadCount: 2)
        var largest = 0.0
        for sequence in reference.sequences {
            #expect(sequence.tokens.count > 16)
            let logits = try model.forward(sequence.tokens, cache: KVCache(for: model, capacity: sequence.tokens.count), pool: pool, logitsFrom: 0)
            let vocabulary = model.vocabularySize
            for (position, top) in sequence.exactTop.enumerated() {
                let row = logProbabilities(logits[position * vocabulary..<(position + 1) * vocabulary])
                for pair in top { largest = max(largest, abs(row[Int(pair[0])] - pair[1])) }
                #expect(row.indices.max { row[$0] < row[$1] } == Int(top[0][0]), "position \(position)")
            }
        }
        print("tiny-gemma3-f16: largest |Δ logprob| from exact \(largest)")
        #expect(largest <= 1e-3)
    }
}
