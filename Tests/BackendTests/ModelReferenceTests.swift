import Foundation
import Testing

@testable import Backend

/// Checks the forward pass against exact F32 log-probabilities recorded by an
/// independent numpy implementation, on every committed fixture model, with
/// bounds derived from how far llama.cpp itself is from exact.
@Suite("Model against exact references")
struct ModelReferenceTests {
    /// Teacher-forces `prompt_tokens + generated_tokens` the way the engine
    /// runs: the prompt in one batch (matMul), then each generated token
    /// alone (matVec). Returns the log-probabilities at each generated position.
    private func teacherForced(_ model: LanguageModel, _ testCase: ModelReference.Case, pool: ComputePool) throws -> [[Double]] {
        let cache = KVCache(for: model, capacity: testCase.promptTokens.count + testCase.generatedTokens.count)
        var logits = try model.forward(testCase.promptTokens, cache: cache, pool: pool)
        var rows: [[Double]] = []
        for token in testCase.generatedTokens {
            rows.append(logProbabilities(logits[...]))
            logits = try model.forward([token], cache: cache, pool: pool)
        }
        return rows
    }

    @Test("log-probabilities match the exact reference", arguments: FixtureModels.all)
    func matchesExactReference(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let reference = try FixtureModels.reference(name)
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

        if FixtureModels.f16.contains(name) {
            // Weights are F16 and we compute in F32, as the reference does.
            #expect(median <= 1e-3 && p95 <= 1e-3 && maximum <= 1e-3)
        } else {
            #expect(median <= 1.25 * llama.median)
            #expect(p95 <= 1.25 * llama.p95)
        }
        #expect(Double(disagreements) <= Double(llama.top1Disagreements) + 0.05 * Double(positions))
    }
}
