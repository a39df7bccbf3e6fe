import Foundation
import Testing

@testable import Backend

/// The qwen3moe block on tiny hand-made files: its routing, that only the
/// chosen experts are read, and clear errors for malformed files.
@Suite("Model architectures")
struct ModelArchitectureTests {
    private func load(_ builder: GGUFTestModelBuilder) throws -> LanguageModel {
        let file = try TemporaryFile(builder.bytes())
        return try LanguageModel(path: file.path)
    }

    private func configuration(_ builder: GGUFTestModelBuilder) throws -> ModelConfiguration {
        let file = try TemporaryFile(builder.bytes())
        return try ModelConfiguration(metadata: GGUFFile(path: file.path).metadata)
    }

    private func loadError(_ builder: GGUFTestModelBuilder) throws -> GGUFError {
        try #require(throws: GGUFError.self) { _ = try load(builder) }
    }

    @Test("routing takes the softmax's top experts and renormalizes their weights")
    func routing() throws {
        let builder = GGUFTestModelBuilder.tinyQwen3MoE()
        let c = try #require(try configuration(builder).experts)
        #expect(c.count == 4 && c.usedCount == 2 && c.feedForwardLength == 8 && c.normalizesWeights && c.weightsScale == 1)
        let scores: [Float] = [0.5, 2, -1, 1]
        let routing = ExpertRouting(scores: scores, configuration: c)
        #expect(routing.experts == [1, 3])
        // Renormalized: e^2 / (e^2 + e^1) and e^1 / (e^2 + e^1).
        let first = Float(exp(2.0) / (exp(2.0) + exp(1.0)))
        #expect(abs(routing.weights[0] - first) < 1e-6 && abs(routing.weights[1] - (1 - first)) < 1e-6)

        var unnormalized = builder
        unnormalized.set("qwen3moe.expert_weights_norm", .bool(false))
        unnormalized.set("qwen3moe.expert_weights_scale", .float32(2))
        let other = try #require(try configuration(unnormalized).experts)
        let plain = ExpertRouting(scores: scores, configuration: other)
        let total = [0.5, 2, -1, 1].map { exp(Double($0)) }.reduce(0, +)
        #expect(plain.experts == [1, 3])
        #expect(abs(Double(plain.weights[0]) - 2 * exp(2.0) / total) < 1e-6)
        // Equal scores: the lower index first, as a stable descending sort.
        #expect(ExpertRouting(scores: [0, 0, 0, 0], configuration: c).experts == [0, 1])
    }

    @Test("only the chosen experts' weights are read, in prefill and in decode")
    func onlyChosenExpertsRead() throws {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        // Equal scores for every token: experts 0 and 1 run. Experts 2 and 3
        // are NaN, so reading any of their rows would poison the logits.
        builder.remove("blk.0.ffn_gate_inp.weight")
        builder.tensor("blk.0.ffn_gate_inp.weight", [8, 4]) { _ in 0 }
        for name in ["gate", "up", "down"] {
            builder.remove("blk.0.ffn_\(name)_exps.weight")
            builder.tensor("blk.0.ffn_\(name)_exps.weight", [8, 8, 4]) { $0 >= 2 * 64 ? .nan : Float($0 % 13 - 6) / 30 }
        }
        let model = try load(builder)
        let pool = ComputePool(threadCount: 2)
        let cache = KVCache(for: model)
        let prefill = try model.forward([1, 2, 3, 4, 5], cache: cache, pool: pool, logitsFrom: 0)
        let decode = try model.forward([6], cache: cache, pool: pool)
        #expect(prefill.count == 5 * 16 && prefill.allSatisfy(\.isFinite))
        #expect(decode.count == 16 && decode.allSatisfy(\.isFinite))
    }

    @Test("decoding a mixture of experts token by token equals the batch pass")
    func moeDecodeEqualsBatch() throws {
        let model = try load(.tinyQwen3MoE())
        let pool = ComputePool(threadCount: 2)
        let tokens: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6]
        let batch = try model.forward(tokens, cache: KVCache(for: model), pool: pool, logitsFrom: 0)
        let cache = KVCache(for: model)
        var decoded: [Float] = []
        for token in tokens { decoded += try model.forward([token], cache: cache, pool: pool) }
        #expect(decoded.count == batch.count)
        #expect(zip(decoded, batch).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("wrong expert counts, missing norms and mismatched shapes are clear errors")
    func malformedFiles() throws {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        builder.set("qwen3moe.expert_used_count", .uint32(5))
        var error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("qwen3moe.expert_used_count"), "\(error)")

        builder = .tinyQwen3MoE()
        builder.set("qwen3moe.expert_count", .uint32(0))
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("qwen3moe.expert_count"), "\(error)")

        builder = .tinyQwen3MoE()
        builder.remove("qwen3moe.expert_count")
        error = try loadError(builder)
        #expect(error.code == .missingMetadata && error.description.contains("qwen3moe.expert_count"), "\(error)")

        // The file says 8 experts, its tensors hold 4.
        builder = .tinyQwen3MoE()
        builder.set("qwen3moe.expert_count", .uint32(8))
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("ffn_gate_inp"), "\(error)")

        builder = .tinyQwen3MoE()
        builder.remove("blk.0.ffn_down_exps.weight")
        builder.tensor("blk.0.ffn_down_exps.weight", [8, 8, 3]) { _ in 0 }
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("ffn_down_exps"), "\(error)")

        builder = .tinyQwen3MoE()
        builder.remove("blk.0.ffn_up_exps.weight")
        builder.tensor("blk.0.ffn_up_exps.weight", [8, 32]) { _ in 0 }
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("ffn_up_exps"), "\(error)")

        builder = .tinyQwen3MoE()
        builder.remove("blk.0.attn_k_norm.weight")
        error = try loadError(builder)
        #expect(error.description.contains("blk.0.attn_k_norm.weight"), "\(error)")

        builder = .tinyQwen3MoE()
        builder.remove("blk.0.attn_q_norm.weight")
        builder.tensor("blk.0.attn_q_norm.weight", [8]) { _ in 1 }
        error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("attn_q_norm"), "\(error)")
    }

    @Test("a fused query/key/value matrix of the wrong height is a clear error")
    func fusedHeightError() throws {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        // 8 + 4 + 4 rows expected.
        builder.tensor("blk.0.attn_qkv.weight", [8, 15]) { _ in 0 }
        let error = try loadError(builder)
        #expect(error.code == .invalidModel && error.description.contains("attn_qkv") && error.description.contains("16"), "\(error)")
    }

    @Test("a fused query/key/value matrix is split into its rows")
    func fusedQueryKeyValueEqualsSeparate() throws {
        let separate = try load(.tinyQwen3MoE())
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        var rows: [Float] = []
        for name in ["attn_q", "attn_k", "attn_v"] {
            rows += builder.tensors.first { $0.name == "blk.0.\(name).weight" }!.values
            builder.remove("blk.0.\(name).weight")
        }
        builder.tensor("blk.0.attn_qkv.weight", [8, 16]) { rows[$0] }
        let fused = try load(builder)
        let pool = ComputePool(threadCount: 1)
        let tokens: [Int32] = [2, 7, 1, 8]
        let a = try separate.forward(tokens, cache: KVCache(for: separate), pool: pool, logitsFrom: 0)
        let b = try fused.forward(tokens, cache: KVCache(for: fused), pool: pool, logitsFrom: 0)
        #expect(a == b)
    }
}

@Suite("Model architectures' decode path")
struct ModelArchitectureDecodeTests {
    @Test("decoding token by token gives the batch pass's logits", arguments: FixtureModels.architectures)
    func decodeMatchesBatch(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let testCase = try #require(FixtureModels.reference(name).cases.first)
        let pool = ComputePool(threadCount: 2)
        let tokens = testCase.promptTokens + testCase.generatedTokens.prefix(4)
        let first = testCase.promptTokens.count - 1
        let batch = try model.forward(tokens, cache: KVCache(for: model, capacity: 64), pool: pool, logitsFrom: first)
        let cache = KVCache(for: model, capacity: 64)
        var decoded = try model.forward(testCase.promptTokens, cache: cache, pool: pool)
        for token in testCase.generatedTokens.prefix(4) {
            decoded += try model.forward([token], cache: cache, pool: pool)
        }
        #expect(decoded.count == batch.count)
        let largest = zip(decoded, batch).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest < 1e-3, "\(name): \(largest)")
    }
}

@Suite("Model architectures' end-of-generation tokens")
struct ModelArchitectureEndOfGenerationTests {
    /// The tokens each family's chat models end a turn with; `<think>`
    /// (Qwen3's reasoning marker, user-defined) and Gemma's
    /// `<start_of_turn>` must not end one.
    @Test("each fixture ends a generation at its family's end-of-turn tokens", arguments: [
        ("tiny-qwen3-f16", [151645, 151643], [151667]),
        ("tiny-qwen3moe-f16", [151645, 151643], [151667, 151668]),
        ("tiny-smollm3-f16", [128012, 128001, 128009], [128011]),
        ("tiny-phi3-f16", [32007, 32000], [1]),
        ("tiny-llama31-f16", [128009, 128001], [128000]),
        ("tiny-mistral3-f16", [2], [1]),
        ("tiny-gemma3-f16", [106, 1], [105]),
    ])
    func endOfGeneration(name: String, ending: [Int], notEnding: [Int]) throws {
        let vocabulary = try TokenizerVocabulary(gguf: GGUFFile(path: FixtureModels.path(name)))
        for id in ending { #expect(vocabulary.endOfGenerationTokenIDs.contains(id), "\(name): \(vocabulary.tokens[id])") }
        for id in notEnding { #expect(!vocabulary.endOfGenerationTokenIDs.contains(id), "\(name): \(vocabulary.tokens[id])") }
    }
}
