import Foundation
import Testing

@testable import Backend

/// RoPE scaling on tiny hand-made files: what each scaling must equal in the
/// cases where it reduces to another (YaRN with factor 1 is plain RoPE,
/// LongRoPE's uniform factors are linear scaling), the YaRN ramp's two
/// ends, and clear errors for malformed values. The llama.cpp parity of
/// YaRN and LongRoPE is checked on the fixtures (``ModelReferenceTests``).
@Suite("Model RoPE scaling")
struct ModelRoPEScalingTests {
    private let a = "qwen3moe"
    private let tokens: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3]

    private func logits(_ builder: GGUFTestModelBuilder) throws -> [Float] {
        let file = try TemporaryFile(builder.bytes())
        let model = try LanguageModel(path: file.path)
        return try model.forward(tokens, cache: KVCache(for: model), pool: ComputePool(threadCount: 1), logitsFrom: 0)
    }

    private func configuration(_ builder: GGUFTestModelBuilder) throws -> ModelConfiguration {
        let file = try TemporaryFile(builder.bytes())
        return try ModelConfiguration(metadata: GGUFFile(path: file.path).metadata)
    }

    private func loadError(_ builder: GGUFTestModelBuilder) throws -> GGUFError {
        try #require(throws: GGUFError.self) {
            let file = try TemporaryFile(builder.bytes())
            _ = try LanguageModel(path: file.path)
        }
    }

    private func maximumDifference(_ x: [Float], _ y: [Float]) -> Float {
        zip(x, y).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test("YaRN with factor 1 is plain RoPE; with a larger factor it changes the logits")
    func yarnFactorOne() throws {
        let plain = try logits(.tinyQwen3MoE())
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        builder.set("\(a).rope.scaling.type", .string("yarn"))
        builder.set("\(a).rope.scaling.factor", .float32(1))
        builder.set("\(a).rope.scaling.original_context_length", .uint32(4))
        #expect(maximumDifference(try logits(builder), plain) < 1e-6)
        builder.set("\(a).rope.scaling.factor", .float32(16))
        #expect(maximumDifference(try logits(builder), plain) > 1e-3)
    }

    @Test("YaRN keeps the frequencies before its ramp, divides those after it, and mixes them in between",
          arguments: [(Float(16), Float(32), Float(1), 64), (4, 8, 2, 4096), (40, 32, 1, 32768)])
    func yarnRamp(factor: Float, betaFast: Float, betaSlow: Float, original: Int) throws {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        builder.set("\(a).rope.scaling.type", .string("yarn"))
        builder.set("\(a).rope.scaling.factor", .float32(factor))
        builder.set("\(a).rope.scaling.original_context_length", .uint32(UInt32(original)))
        builder.set("\(a).rope.scaling.yarn_beta_fast", .float32(betaFast))
        builder.set("\(a).rope.scaling.yarn_beta_slow", .float32(betaSlow))
        // Wider heads than the tiny model's, so the ramp falls inside them.
        let d = 128
        let base = 10_000.0
        let file = try TemporaryFile(builder.bytes())
        let scaling = try ModelConfiguration.ropeScaling(
            metadata: GGUFFile(path: file.path).metadata, architecture: a, contextLength: 64,
            frequencyBase: Float(base), rotatedDimensions: d)
        let ramp = try #require(scaling.yarn)
        #expect(ramp.rampStart <= ramp.rampEnd && ramp.rampStart >= 0 && ramp.rampEnd <= Double(d - 1))
        for pair in 0..<d / 2 {
            let plain = pow(base, -Double(2 * pair) / Double(d))
            let yarn = RotaryPositionEmbedding.inverseFrequency(pair: pair, rotatedDimensions: d, base: base, scaling: scaling, factor: 1)
            if Double(pair) <= ramp.rampStart {
                #expect(abs(yarn / plain - 1) < 1e-12)
            } else if Double(pair) >= ramp.rampEnd {
                #expect(abs(yarn * Double(factor) / plain - 1) < 1e-12)
            } else {
                #expect(yarn < plain && yarn > plain / Double(factor))
            }
        }
        // Pair i's wavelength 2π·base^(2i/d) fits beta_fast times into the original context at the ramp's start.
        let start = Double(d) * log(Double(original) / (Double(betaFast) * 2 * .pi)) / (2 * log(base))
        #expect(ramp.rampStart == max(0, start.rounded(.down)))
        #expect(ramp.rampStart > 0 || original < 1000)
        #expect(abs(scaling.magnitude - (1 + 0.1 * log(Double(factor)))) < 1e-6)
    }

    @Test("YaRN's magnitude is divided by its log multiplier's (Ministral 3) and multiplied by attn_factor")
    func yarnMagnitude() throws {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        builder.set("\(a).rope.scaling.type", .string("yarn"))
        builder.set("\(a).rope.scaling.factor", .float32(16))
        builder.set("\(a).rope.scaling.yarn_log_multiplier", .float32(1))
        #expect(abs(try configuration(builder).ropeScaling.magnitude - 1) < 1e-9)
        builder.set("\(a).rope.scaling.yarn_log_multiplier", .float32(0.5))
        builder.set("\(a).rope.scaling.attn_factor", .float32(2))
        let expected = 2 * (1 + 0.1 * log(16.0)) / (1 + 0.05 * log(16.0))
        #expect(abs(try configuration(builder).ropeScaling.magnitude - expected) < 1e-6)
    }

    @Test("the attention temperature multiplies queries from each multiple of the original context on")
    func temperature() throws {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        builder.set("\(a).rope.scaling.original_context_length", .uint32(4))
        builder.set("\(a).attention.temperature_scale", .float32(0.5))
        let scaling = try configuration(builder).ropeScaling
        for position in 0..<20 {
            let expected = Float(1 + 0.5 * log(Double(position / 4) + 1))
            #expect(abs(scaling.queryScale(at: position) - expected) < 1e-6)
        }
        #expect(maximumDifference(try logits(builder), try logits(.tinyQwen3MoE())) > 1e-4)
    }

    @Test("LongRoPE: long factors of 2 are linear scaling by 2 when the context is beyond the original; the short ones apply otherwise")
    func longRoPEFactors() throws {
        var longRoPE = GGUFTestModelBuilder.tinyQwen3MoE()
        longRoPE.tensor("rope_factors_long.weight", [2]) { _ in 2 }
        longRoPE.tensor("rope_factors_short.weight", [2]) { _ in 1 }
        longRoPE.set("\(a).rope.scaling.original_context_length", .uint32(16))
        var linear = GGUFTestModelBuilder.tinyQwen3MoE()
        linear.set("\(a).rope.scaling.type", .string("linear"))
        linear.set("\(a).rope.scaling.factor", .float32(2))
        #expect(maximumDifference(try logits(longRoPE), try logits(linear)) < 1e-6)

        // The context (64) is not beyond the original: short factors, plain RoPE.
        longRoPE.set("\(a).rope.scaling.original_context_length", .uint32(64))
        #expect(maximumDifference(try logits(longRoPE), try logits(.tinyQwen3MoE())) < 1e-6)

        // attn_factor scales the rotated query and key: scores by its square.
        longRoPE.set("\(a).rope.scaling.attn_factor", .float32(1.5))
        #expect(try configuration(longRoPE).ropeScaling.magnitude == 1.5)
        #expect(maximumDifference(try logits(longRoPE), try logits(.tinyQwen3MoE())) > 1e-4)
    }

    @Test("malformed scaling values and factor tensors are clear errors")
    func malformed() throws {
        let cases: [(String, (inout GGUFTestModelBuilder) -> Void, [String])] = [
            ("unknown type", { $0.set("qwen3moe.rope.scaling.type", .string("dynamic")) }, ["'dynamic'"]),
            ("factor 0", { $0.set("qwen3moe.rope.scaling.type", .string("yarn")); $0.set("qwen3moe.rope.scaling.factor", .float32(0)) }, ["rope.scaling.factor", "0"]),
            ("negative factor", { $0.set("qwen3moe.rope.scaling.type", .string("linear")); $0.set("qwen3moe.rope.scaling.factor", .float32(-2)) }, ["rope.scaling.factor"]),
            ("NaN factor", { $0.set("qwen3moe.rope.scaling.factor", .float32(.nan)) }, ["rope.scaling.factor"]),
            ("YaRN without factor", { $0.set("qwen3moe.rope.scaling.type", .string("yarn")) }, ["rope.scaling.factor", "missing"]),
            ("negative beta", { $0.set("qwen3moe.rope.scaling.type", .string("yarn")); $0.set("qwen3moe.rope.scaling.factor", .float32(4)); $0.set("qwen3moe.rope.scaling.yarn_beta_fast", .float32(-1)) }, ["yarn_beta_fast"]),
            ("original context 0", { $0.set("qwen3moe.rope.scaling.original_context_length", .uint32(0)) }, ["original_context_length"]),
            ("attn_factor 0", { $0.set("qwen3moe.rope.scaling.attn_factor", .float32(0)) }, ["attn_factor"]),
            ("longrope without tensors", { $0.set("qwen3moe.rope.scaling.type", .string("longrope")) }, ["rope_factors_long.weight"]),
            ("long factors only", { $0.tensor("rope_factors_long.weight", [2]) { _ in 1 } }, ["rope_factors_short.weight", "missing"]),
            ("short factors only", { $0.tensor("rope_factors_short.weight", [2]) { _ in 1 } }, ["rope_factors_long.weight", "missing"]),
            ("wrong length", { $0.tensor("rope_factors_long.weight", [3]) { _ in 1 }; $0.tensor("rope_factors_short.weight", [2]) { _ in 1 } }, ["rope_factors_long.weight", "[3]"]),
            ("zero factor", { $0.tensor("rope_factors_long.weight", [2]) { _ in 1 }; $0.tensor("rope_factors_short.weight", [2]) { Float($0) } }, ["rope_factors_short.weight", "pair 0"]),
            ("infinite rope_freqs", { $0.tensor("rope_freqs.weight", [2]) { _ in .infinity } }, ["rope_freqs.weight"]),
        ]
        for (name, change, words) in cases {
            var builder = GGUFTestModelBuilder.tinyQwen3MoE()
            change(&builder)
            let error = try loadError(builder)
            let text = "\(error)"
            #expect(words.allSatisfy { text.contains($0) }, "\(name): \(text)")
        }
    }
}
