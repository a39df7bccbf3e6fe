import Foundation
import Testing

@testable import Backend

/// The synthetic bert model (`scripts/make-bert-test-model.py`) against the
/// embeddings llama.cpp's `llama-server --embeddings --pooling mean`
/// recorded for it, computed here in one batch.
@Suite struct EmbeddingBertReferenceTests {
    struct Reference: Decodable {
        let inputs: [String]
        let tokens: [[Int32]]
        let embeddings: [[Float]]
    }

    static func fixture() throws -> (BertModel, Tokenizer, Reference) {
        let url = try #require(
            Bundle.module.url(forResource: "bert-test", withExtension: "gguf", subdirectory: "Fixtures/models"))
        let referenceURL = try #require(
            Bundle.module.url(forResource: "bert-test.embeddings", withExtension: "json", subdirectory: "Fixtures/models"))
        let file = try GGUFFile(path: url.path)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: referenceURL))
        return (try BertModel(file: file), try Tokenizer(TokenizerVocabulary(gguf: file)), reference)
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            aa += Double(x) * Double(x)
            bb += Double(y) * Double(y)
        }
        return dot / (aa.squareRoot() * bb.squareRoot())
    }

    @Test func tokensMatchLlamaCpp() throws {
        let (_, tokenizer, reference) = try Self.fixture()
        for (input, expected) in zip(reference.inputs, reference.tokens) {
            #expect(tokenizer.encode(input).map(Int32.init) == expected, "\(input)")
        }
    }

    @Test func batchedEmbeddingsMatchLlamaCpp() throws {
        let (model, tokenizer, reference) = try Self.fixture()
        #expect(model.configuration.pooling == .mean)
        let inputs = reference.inputs.map { tokenizer.encode($0).map(Int32.init) }
        let vectors = try model.embed(inputs, pool: ComputePool(threadCount: 2))
        #expect(vectors.count == reference.embeddings.count)
        for (index, (vector, expected)) in zip(vectors, reference.embeddings).enumerated() {
            #expect(vector.count == expected.count)
            let similarity = Self.cosine(vector, expected)
            #expect(similarity >= 0.9999, "input \(index): cosine \(similarity)")
            let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    @Test func anInputAloneEqualsTheSameInputInABatch() throws {
        let (model, tokenizer, reference) = try Self.fixture()
        let pool = ComputePool(threadCount: 2)
        let inputs = reference.inputs.map { tokenizer.encode($0).map(Int32.init) }
        let batch = try model.embed(inputs, pool: pool)
        let alone = try model.embed([inputs[1]], pool: pool)
        #expect(Self.cosine(alone[0], batch[1]) >= 0.99999)
    }

    @Test func inputsOverTheContextOrEmptyAreRefused() throws {
        let (model, _, _) = try Self.fixture()
        let pool = ComputePool(threadCount: 1)
        let tooLong = [Int32](repeating: 1000, count: model.configuration.contextLength + 1)
        #expect(throws: InferenceError.self) { try model.embed([tooLong], pool: pool) }
        #expect(throws: InferenceError.self) { try model.embed([[]], pool: pool) }
        #expect(throws: InferenceError.self) { try model.embed([[Int32(model.vocabularySize)]], pool: pool) }
    }
}
