import Foundation
import Testing

@testable import Backend

/// A bert GGUF as the server holds it: listed as an embedding model,
/// served by an ``EmbeddingEngine`` that batches waiting requests, and
/// refused for text generation.
@Suite struct EmbeddingServiceTests {
    static func path() throws -> String {
        try #require(Bundle.module.url(forResource: "bert-test", withExtension: "gguf", subdirectory: "Fixtures/models")).path
    }

    @Test func aBertFileIsListedAsAnEmbeddingModelWithoutKVCache() throws {
        let entry = ModelEntry(id: "bert-test", path: try Self.path())
        #expect(entry.problem == nil)
        #expect(entry.architecture == "bert")
        #expect(entry.kvCacheBytes == 0)
        #expect(entry.listing(loaded: false).objectValue?["type"] == "embeddings")
    }

    @Test func aBertServiceEmbedsAndRefusesToGenerate() async throws {
        let service = try ModelService(path: try Self.path(), configuration: SchedulerConfiguration(), metrics: BackendMetrics())
        defer { service.shutdown() }
        #expect(service.model == nil && service.scheduler == nil)
        let embedder = try #require(service.embedder)
        #expect(service.contextLength == embedder.model.contextLength)
        #expect(throws: APIError.self) { try service.tokens(for: .text("hello")) }
        let vectors = try await embedder.embed([service.tokenizer.encode("hello").map(Int32.init)])
        #expect(vectors.count == 1 && vectors[0].count == embedder.model.embeddingLength)
    }

    @Test func concurrentRequestsGetTheVectorsTheyWouldGetAlone() async throws {
        let file = try GGUFFile(path: try Self.path())
        let model = try BertModel(file: file)
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
        let engine = EmbeddingEngine(model: model, threadCount: 2)
        defer { engine.shutdown() }
        let texts = ["one", "two words", "three words here", "a fourth, longer input than the others", "five"]
        let inputs = texts.map { tokenizer.encode($0).map(Int32.init) }
        let alone = try model.embed(inputs, pool: ComputePool(threadCount: 1))
        let together = try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, try await engine.embed([input])) }
            }
            var results = [[Float]](repeating: [], count: inputs.count)
            for try await (index, vectors) in group { results[index] = vectors[0] }
            return results
        }
        for (a, b) in zip(alone, together) {
            #expect(EmbeddingBertReferenceTests.cosine(a, b) >= 0.99999)
        }
    }

    @Test func aRequestOverTheBatchBudgetIsComputedInSeveralBatchesWithTheSameResult() async throws {
        let file = try GGUFFile(path: try Self.path())
        let model = try BertModel(file: file)
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
        let inputs = ["one", "two words", "three words here", "four"].map { tokenizer.encode($0).map(Int32.init) }
        let pool = ComputePool(threadCount: 1)
        let whole = try model.embed(inputs, pool: pool)
        // A budget of 6 tokens splits these 3 + 4 + 5 + 3 tokens into four batches.
        let split = try EmbeddingEngine.embed(inputs, model: model, maxBatchTokens: 6, pool: pool)
        #expect(split.count == whole.count)
        for (a, b) in zip(whole, split) { #expect(EmbeddingBertReferenceTests.cosine(a, b) >= 0.99999) }
        let engine = EmbeddingEngine(model: model, threadCount: 1, maxBatchTokens: 6)
        defer { engine.shutdown() }
        let served = try await engine.embed(inputs)
        for (a, b) in zip(whole, served) { #expect(EmbeddingBertReferenceTests.cosine(a, b) >= 0.99999) }
    }

    @Test func aBadInputIsRefusedBeforeItJoinsABatch() async throws {
        let engine = EmbeddingEngine(model: try BertModel(path: try Self.path()), threadCount: 1)
        defer { engine.shutdown() }
        await #expect(throws: InferenceError.self) { try await engine.embed([[]]) }
        await #expect(throws: InferenceError.self) { try await engine.embed([[Int32(engine.model.vocabularySize)]]) }
    }

    @Test func aStoppedEngineFailsNewRequests() async throws {
        let engine = EmbeddingEngine(model: try BertModel(path: try Self.path()), threadCount: 1)
        engine.shutdown()
        await #expect(throws: SchedulerError.self) { try await engine.embed([[101, 102]]) }
    }
}
