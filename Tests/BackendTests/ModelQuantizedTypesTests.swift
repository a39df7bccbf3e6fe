import Foundation
import Testing
@testable import Backend
import Kernels

/// The tiny F16 llama fixture re-quantized by gguf-py to the new 32-weight
/// types (`Fixtures/quants/tiny-llama-spm-<type>.gguf`, written by
/// `scripts/make-quant-models.py`, with `.exact.json`: the exact F32 top-5
/// log-probabilities of the same model, its weights dequantized by gguf-py,
/// from an independent numpy forward pass). lmgate loads it, names its
/// quantization, and computes those log-probabilities as closely as it does
/// for the F16 fixtures: the weights are the same numbers, in F32.
@Suite("Model: re-quantized fixtures against exact references")
struct ModelQuantizedTypesTests {
    static let types = ["q4_1", "q5_1"]

    struct ExactCases: Decodable {
        let cases: [ModelReference.Case]
    }

    @Test("log-probabilities and top-1 tokens match the exact reference", arguments: types)
    func matchesExact(type: String) throws {
        let name = "tiny-llama-spm-\(type)"
        let model = try #require(Bundle.module.url(forResource: name, withExtension: "gguf", subdirectory: "Fixtures/quants"))
        let exact = try #require(Bundle.module.url(forResource: name + ".exact", withExtension: "json", subdirectory: "Fixtures/quants"))
        let cases = try JSONDecoder().decode(ExactCases.self, from: Data(contentsOf: exact)).cases
        #expect(ModelService.quantization(of: try GGUFFile(path: model.path)) == type.uppercased())

        let languageModel = try LanguageModel(path: model.path)
        let pool = ComputePool(threadCount: 2)
        let vocabulary = languageModel.vocabularySize
        var largest = 0.0, disagreements = 0, positions = 0
        // The integer-dot paths' decoding step: these gguf-py files have no
        // llama.cpp figures to bound it by (ModelDecodeAccuracyTests does that
        // for llama-quantize's files), so the bound is a sanity one: llama.cpp's
        // own p95 on those is 0.34–0.54, a wrong block layout moves a
        // log-probability by whole units.
        var integerLargest = 0.0, stepDisagreements = 0
        for testCase in cases {
            // Teacher-forced in one batch: the prefill path, through tiles.
            let tokens = testCase.promptTokens + testCase.generatedTokens
            let cache = KVCache(for: languageModel, capacity: tokens.count)
            let logits = try languageModel.forward(tokens, cache: cache, pool: pool, logitsFrom: testCase.promptTokens.count - 1)
            for (row, exactTop) in testCase.exactTop.enumerated() {
                let logProbs = logProbabilities(logits[row * vocabulary..<(row + 1) * vocabulary])
                for pair in exactTop {
                    largest = max(largest, abs(logProbs[Int(pair[0])] - pair[1]))
                }
                if logProbs.indices.max(by: { logProbs[$0] < logProbs[$1] }) != Int(exactTop[0][0]) { disagreements += 1 }
                positions += 1
            }
            // One decoding step after the prompt: the dot path, on the float
            // kernels (exact here), and on every integer-dot path this CPU
            // runs, whose rounded activations are bounded separately.
            for path in KernelPath.allCases where path.isSupported {
                let step = try KernelPath.$override.withValue(path) {
                    let decodeCache = KVCache(for: languageModel, capacity: tokens.count)
                    _ = try languageModel.forward(Array(testCase.promptTokens.dropLast()), cache: decodeCache, pool: pool)
                    return logProbabilities(try languageModel.forward([testCase.promptTokens.last!], cache: decodeCache, pool: pool)[...])
                }
                for pair in testCase.exactTop[0] {
                    let deviation = abs(step[Int(pair[0])] - pair[1])
                    if path == .portable {
                        largest = max(largest, deviation)
                    } else {
                        integerLargest = max(integerLargest, deviation)
                    }
                }
                if step.indices.max(by: { step[$0] < step[$1] }) != Int(testCase.exactTop[0][0][0]) { stepDisagreements += 1 }
            }
        }
        print("\(name): largest |Δ logprob| vs exact \(largest), top-1 disagreements \(disagreements)/\(positions); "
              + "integer-dot decoding steps: largest |Δ logprob| \(integerLargest); decoding steps on all paths: top-1 disagreements \(stepDisagreements)")
        #expect(positions > 0)
        #expect(largest <= 1e-3)
        #expect(disagreements == 0)
        #expect(integerLargest <= 0.5)
        #expect(stepDisagreements == 0)
    }
}
