import Foundation

@testable import Backend

/// A `MODEL.reference.json` fixture: llama.cpp's tokenization and greedy
/// continuation of five prompts, and the exact (F32, teacher-forced) top-5
/// log-probabilities at each generated position.
struct ModelReference: Decodable {
    struct Case: Decodable {
        let prompt: String
        let promptTokens: [Int32]
        let generatedTokens: [Int32]
        /// Per generated position, five `[token, logprob]` pairs.
        let exactTop: [[[Double]]]

        enum CodingKeys: String, CodingKey {
            case prompt
            case promptTokens = "prompt_tokens"
            case generatedTokens = "generated_tokens"
            case exactTop = "exact_top"
        }
    }

    struct Deviation: Decodable {
        let steps: Int
        let median: Double
        let p95: Double
        let max: Double
        let top1Disagreements: Int

        enum CodingKeys: String, CodingKey {
            case steps, median, p95, max
            case top1Disagreements = "top1_disagreements"
        }
    }

    let cases: [Case]
    let llamacppVsExact: Deviation

    enum CodingKeys: String, CodingKey {
        case cases
        case llamacppVsExact = "llamacpp_vs_exact"
    }
}

/// The committed fixture models (tiny F16 ones and compact quantized ones).
enum FixtureModels {
    static let f16 = ["tiny-llama-spm-f16", "tiny-llama3-f16", "tiny-qwen2-f16"] + architectures
    /// The architectures beyond llama and qwen2 (scripts/make-arch-fixtures.py).
    static let architectures = ["tiny-qwen3-f16", "tiny-qwen3moe-f16", "tiny-llama31-f16", "tiny-smollm3-f16", "tiny-mistral3-f16", "tiny-phi3-f16", "tiny-gemma3-f16",
                                "tiny-qwen3-yarn-f16", "tiny-ministral3-yarn-f16", "tiny-phi3-longrope-f16", "tiny-phi3-longrope-short-f16"]
    static let quantized = [
        "compact-llama-spm-q8_0", "compact-llama-spm-q4_0", "compact-llama-spm-q4_k_m", "compact-llama-spm-q6_k",
        // Quantized by llama-quantize (token embedding in the same type) by scripts/make-compact-quant-fixtures.py.
        "compact-llama-spm-q5_k_s", "compact-llama-spm-q3_k_m", "compact-llama-spm-q2_k",
        "compact-llama-spm-iq4_nl", "compact-llama-spm-iq4_xs",
        "compact-llama-spm-q5_0", "compact-llama-spm-q4_1", "compact-llama-spm-q5_1",
    ]
    static let all = f16 + quantized

    static func path(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "gguf", subdirectory: "Fixtures/models") else {
            throw FixtureMissing(name: name)
        }
        return url.path
    }

    static func reference(_ name: String) throws -> ModelReference {
        guard let url = Bundle.module.url(forResource: name + ".reference", withExtension: "json", subdirectory: "Fixtures/models") else {
            throw FixtureMissing(name: name + ".reference.json")
        }
        return try JSONDecoder().decode(ModelReference.self, from: Data(contentsOf: url))
    }

    struct FixtureMissing: Error { let name: String }
}

/// Log-softmax of one row of logits, in `Double`.
func logProbabilities(_ logits: ArraySlice<Float>) -> [Double] {
    let maximum = Double(logits.max() ?? 0)
    var sum = 0.0
    for logit in logits { sum += Foundation.exp(Double(logit) - maximum) }
    let logSum = maximum + Foundation.log(sum)
    return logits.map { Double($0) - logSum }
}

/// The `fraction` percentile of `values` with linear interpolation (numpy's default).
func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let position = fraction * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
}
