import Foundation
import Testing

@testable import Backend

/// The default model `scripts/setup` installs, SmolLM2-135M-Instruct Q4_1,
/// against an exact F32 forward pass over gguf-py's dequantization of its
/// weights, with llama.cpp's distance from the same reference as the bar.
@Suite("Default model against the exact reference")
struct DefaultModelReferenceTests {
    static func reference() throws -> ModelReference {
        let url = try #require(Bundle.module.url(
            forResource: "SmolLM2-135M-Instruct.Q4_1.reference", withExtension: "json", subdirectory: "Fixtures/models"))
        return try JSONDecoder().decode(ModelReference.self, from: Data(contentsOf: url))
    }

    @Test("teacher-forced log-probabilities are at least as close to exact as llama.cpp's")
    func atLeastAsCloseAsLlamaCpp() throws {
        let model = try LanguageModel(path: InstalledDefaultModel.require())
        let reference = try Self.reference()
        let distance = try ModelReferenceTests().distanceFromExact(model, reference, name: "SmolLM2-135M-Instruct.Q4_1")
        let llama = reference.llamacppVsExact
        #expect(distance.median <= llama.median)
        #expect(distance.p95 <= llama.p95)
        #expect(distance.disagreements <= llama.top1Disagreements)
    }
}
