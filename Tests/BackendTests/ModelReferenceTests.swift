import Foundation
import Testing

@testable import Backend

/// Checks the forward pass against exact F32 log-probabilities recorded by an
/// independent numpy implementation, on every committed fixture model, with
/// bounds derived from how far llama.cpp itself is from exact.
@Suite("Model against exact references")
struct ModelReferenceTests {
    /// Teacher-forces `prompt_tokens + generated_tokens` in one batch and
    /// returns the log-probabilities at each generated position (the batch
    /// path is the one prefill uses; the decode path is compared with it below).
    private func teacherForced(_ model: LanguageModel, _ testCase: ModelReference.Case, pool: ComputePool) throws -> [[Double]] {
        let tokens = testCase.promptTokens + testCase.generatedTokens
        let cache = KVCache(for: model, capacity: tokens.count)
        let first = testCase.promptTokens.count - 1
        let logits = try model.forward(tokens, cache: cache, pool: pool, logitsFrom: first)
        let vocabulary = model.vocabularySize
        return (0..<testCase.generatedTokens.count).map { row in
            logProbabilities(logits[row * vocabulary..<(row + 1) * vocabulary])
        }
    }

    /// How far `model`'s teacher-forced log-probabilities are from `reference`'s
    /// exact ones (printed, with llama.cpp's distance, under `name`).
    func distanceFromExact(_ model: LanguageModel, _ reference: ModelReference, name: String) throws -> DistanceFromExact {
        let pool = ComputePool(threadCount: 2)
        var deviations: [Double] = []
        var disagreements = 0
        var positions = 0
        for testCase in reference.cases {
            let rows = try teacherForced(model, testCase, pool: pool)
            for (row, exactTop) in zip(rows, testCase.exactTop) {
                for pair in exactTop {
                    deviations.append(abs(row[Int(pair[0])] - pair[1]))
                }
                let ours = row.indices.max { row[$0] < row[$1] }
                if ours != Int(exactTop[0][0]) { disagreements += 1 }
                positions += 1
            }
        }
        let median = percentile(deviations, 0.5)
        let p95 = percentile(deviations, 0.95)
        let maximum = deviations.max() ?? 0
        let llama = reference.llamacppVsExact
        print(String(
            format: "%@: |Δ logprob| vs exact: median %.2e, p95 %.2e, max %.2e, top-1 disagreements %d/%d; llama.cpp: median %.2e, p95 %.2e, max %.2e, top-1 %d/%d",
            name, median, p95, maximum, disagreements, positions,
            llama.median, llama.p95, llama.max, llama.top1Disagreements, llama.steps))
        return DistanceFromExact(median: median, p95: p95, maximum: maximum, disagreements: disagreements, positions: positions)
    }

    struct DistanceFromExact {
        let median: Double
        let p95: Double
        let maximum: Double
        let disagreements: Int
        let positions: Int
    }

    @Test("log-probabilities match the exact reference", arguments: FixtureModels.all)
    func matchesExactReference(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let reference = try FixtureModels.reference(name)
        let distance = try distanceFromExact(model, reference, name: name)
        let llama = reference.llamacppVsExact
        if FixtureModels.f16.contains(name) {
            // Weights are F16 and we compute in F32, as the reference does.
            #expect(distance.median <= 1e-3 && distance.p95 <= 1e-3 && distance.maximum <= 1e-3)
        } else {
            #expect(distance.median <= 1.25 * llama.median)
            #expect(distance.p95 <= 1.25 * llama.p95)
        }
        #expect(Double(distance.disagreements) <= Double(llama.top1Disagreements) + 0.05 * Double(distance.positions))
    }

    /// The files llama.cpp's own `llama-quantize` wrote for the newer types
    /// (`scripts/make-compact-quant-fixtures.py`), by fixture name and the
    /// quantization their metadata names.
    static let llamaQuantized = [
        "compact-llama-spm-q5_k_s": "Q5_K_S", "compact-llama-spm-q3_k_m": "Q3_K_M", "compact-llama-spm-q2_k": "Q2_K",
        "compact-llama-spm-iq4_nl": "IQ4_NL", "compact-llama-spm-iq4_xs": "IQ4_XS",
    ]

    /// llama.cpp's own distance from exact on these files (~0.14 median) is
    /// far looser than a kernel bug needs to be to hide in it; the batch path
    /// multiplies dequantized weights in F32, as the exact reference does, so
    /// it must land as close to exact as on the F16 fixtures.
    @Test("llama-quantize's Q5_K, Q3_K, Q2_K, IQ4_NL and IQ4_XS files compute the exact log-probabilities",
          arguments: llamaQuantized.keys.sorted())
    func llamaQuantizedMatchesExact(name: String) throws {
        let file = try GGUFFile(path: FixtureModels.path(name))
        #expect(ModelService.quantization(of: file) == Self.llamaQuantized[name])
        let model = try LanguageModel(path: FixtureModels.path(name))
        let distance = try distanceFromExact(model, FixtureModels.reference(name), name: name)
        #expect(distance.positions > 0)
        #expect(distance.maximum <= 1e-3)
        #expect(distance.disagreements == 0)
    }
}

@Suite("Model decode path")
struct ModelDecodeTests {
    @Test("decoding token by token gives the logits of the batch forward pass", arguments: ["tiny-qwen2-f16", "compact-llama-spm-q4_k_m"] + ModelReferenceTests.llamaQuantized.keys.sorted())
    func decodeMatchesBatch(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let testCase = try #require(FixtureModels.reference(name).cases.first)
        let pool = ComputePool(threadCount: 2)
        let steps = 3
        let tokens = testCase.promptTokens + testCase.generatedTokens.prefix(steps)
        let first = testCase.promptTokens.count - 1

        let batchCache = KVCache(for: model)
        let batch = try model.forward(tokens, cache: batchCache, pool: pool, logitsFrom: first)
        #expect(batchCache.count == tokens.count)

        // On the float kernels: the integer-dot paths round the activations
        // (ModelDecodeAccuracyTests bounds them by llama.cpp's distance).
        let decodeCache = KVCache(for: model)
        var decoded: [Float] = []
        try KernelPath.$override.withValue(.portable) {
            decoded = try model.forward(testCase.promptTokens, cache: decodeCache, pool: pool)
            for token in testCase.generatedTokens.prefix(steps) {
                decoded += try model.forward([token], cache: decodeCache, pool: pool)
            }
        }
        #expect(decoded.count == batch.count)
        let largest = zip(decoded, batch).map { abs($0 - $1) }.max() ?? .infinity
        print("\(name): largest |Δ logit| between decode and batch paths \(largest)")
        #expect(largest < 1e-3)
    }

    @Test("bad tokens and a full cache are clear errors")
    func inputErrors() throws {
        let model = try LanguageModel(path: FixtureModels.path("tiny-llama-spm-f16"))
        let pool = ComputePool(threadCount: 1)
        let cache = KVCache(for: model, capacity: 4)
        let invalid = #expect(throws: InferenceError.self) { try model.forward([1, 99_999], cache: cache, pool: pool) }
        #expect(invalid?.code == .invalidToken)
        let empty = #expect(throws: InferenceError.self) { try model.forward([], cache: cache, pool: pool) }
        #expect(empty?.code == .emptyInput)
        _ = try model.forward([1, 2, 3], cache: cache, pool: pool)
        let full = #expect(throws: InferenceError.self) { try model.forward([4, 5], cache: cache, pool: pool) }
        #expect(full?.code == .contextFull)
        cache.truncate(to: 1)
        #expect(cache.count == 1)
        _ = try model.forward([4, 5], cache: cache, pool: pool)
        #expect(cache.count == 3)
    }
}
