import Foundation
import Testing

@testable import Backend
@testable import Kernels

/// The decode path (one token per forward pass, where the integer-dot
/// kernels run on the paths that have them) against the exact references,
/// with llama.cpp's own distance from exact as the bound: its median and p95
/// |Δ logprob| and its top-1 disagreements, no more.
@Suite("Model decode path against exact references")
struct ModelDecodeAccuracyTests {
    /// The quantized fixtures and every path this CPU runs.
    static let arguments: [(String, KernelPath)] = FixtureModels.quantized.flatMap { name in
        KernelPath.allCases.filter(\.isSupported).map { (name, $0) }
    }

    /// Teacher-forces each case token by token: the prompt in one pass (its
    /// last row predicts the first generated token), then each generated
    /// token alone.
    func decodeDistance(_ name: String, path: KernelPath) throws -> (median: Double, p95: Double, maximum: Double, disagreements: Int, positions: Int) {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let reference = try FixtureModels.reference(name)
        let pool = ComputePool(threadCount: 2)
        var deviations: [Double] = []
        var disagreements = 0, positions = 0
        try KernelPath.$override.withValue(path) {
            for testCase in reference.cases {
                let cache = KVCache(for: model, capacity: testCase.promptTokens.count + testCase.generatedTokens.count)
                var logits = try model.forward(testCase.promptTokens, cache: cache, pool: pool)
                for (step, exactTop) in testCase.exactTop.enumerated() {
                    let row = logProbabilities(logits[...])
                    for pair in exactTop { deviations.append(abs(row[Int(pair[0])] - pair[1])) }
                    if row.indices.max(by: { row[$0] < row[$1] }) != Int(exactTop[0][0]) { disagreements += 1 }
                    positions += 1
                    if step + 1 < testCase.exactTop.count {
                        logits = try model.forward([testCase.generatedTokens[step]], cache: cache, pool: pool)
                    }
                }
            }
        }
        return (percentile(deviations, 0.5), percentile(deviations, 0.95), deviations.max() ?? 0, disagreements, positions)
    }

    @Test("decoding stays within llama.cpp's distance from exact", arguments: arguments)
    func withinLlamaCppDistance(name: String, path: KernelPath) throws {
        let distance = try decodeDistance(name, path: path)
        let llama = try FixtureModels.reference(name).llamacppVsExact
        print(String(
            format: "%@ decode on %@: |Δ logprob| vs exact: median %.2e, p95 %.2e, max %.2e, top-1 disagreements %d/%d; llama.cpp: median %.2e, p95 %.2e, top-1 %d/%d",
            name, path.rawValue, distance.median, distance.p95, distance.maximum, distance.disagreements, distance.positions,
            llama.median, llama.p95, llama.top1Disagreements, llama.steps))
        #expect(distance.positions > 0)
        #expect(distance.median <= llama.median)
        #expect(distance.p95 <= llama.p95)
        #expect(distance.disagreements <= llama.top1Disagreements)
    }
}
