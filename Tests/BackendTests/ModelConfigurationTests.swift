import Foundation
import Testing

@testable import Backend

@Suite("Model configuration")
struct ModelConfigurationTests {
    private func metadata(_ values: [String: GGUFValue]) -> GGUFMetadata { GGUFMetadata(values) }

    private let llama: [String: GGUFValue] = [
        "general.architecture": .string("llama"),
        "llama.embedding_length": .uint32(64), "llama.block_count": .uint32(2),
        "llama.attention.head_count": .uint32(4), "llama.attention.head_count_kv": .uint32(2),
        "llama.feed_forward_length": .uint32(192), "llama.context_length": .uint32(512),
        "llama.attention.layer_norm_rms_epsilon": .float32(1e-5),
    ]

    @Test("reads llama hyperparameters with defaults")
    func readsLlama() throws {
        let c = try ModelConfiguration(metadata: metadata(llama))
        #expect(c.headDimension == 16 && c.kvDimension == 32 && c.ropeDimensionCount == 16)
        #expect(c.ropeFrequencyBase == 10_000 && c.ropeLayout == .interleaved)
        var qwen = llama.reduce(into: [String: GGUFValue]()) { $0[$1.key.replacingOccurrences(of: "llama.", with: "qwen2.")] = $1.value }
        qwen["general.architecture"] = .string("qwen2")
        #expect(try ModelConfiguration(metadata: metadata(qwen)).ropeLayout == .neox)
    }

    @Test("unsupported architectures, missing keys and bad numbers are named")
    func errors() {
        var values = llama
        values["general.architecture"] = .string("gpt2")
        let architecture = #expect(throws: GGUFError.self) { try ModelConfiguration(metadata: metadata(values)) }
        #expect(architecture?.code == .invalidModel && architecture?.description.contains("'gpt2'") == true)

        values = llama
        values["llama.block_count"] = nil
        let missing = #expect(throws: GGUFError.self) { try ModelConfiguration(metadata: metadata(values)) }
        #expect(missing?.code == .missingMetadata && missing?.description.contains("llama.block_count") == true)

        values = llama
        values["llama.attention.head_count_kv"] = .uint32(3)
        let heads = #expect(throws: GGUFError.self) { try ModelConfiguration(metadata: metadata(values)) }
        #expect(heads?.code == .invalidModel)

        values = llama
        values["llama.embedding_length"] = .uint64(1 << 40)
        let huge = #expect(throws: GGUFError.self) { try ModelConfiguration(metadata: metadata(values)) }
        #expect(huge?.code == .invalidModel && huge?.description.contains("llama.embedding_length") == true)
    }
}
