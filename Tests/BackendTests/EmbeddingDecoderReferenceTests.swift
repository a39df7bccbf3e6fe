import Foundation
import Testing

@testable import Backend

/// A decoder as an embedding model: the tiny qwen3 fixture pooled by the
/// last token and by the mean, against the vectors llama.cpp gave for the
/// same weights (`scripts/make-decoder-embedding-model.py`, which writes the
/// fixture with `qwen3.pooling_type` and Qwen3-Embedding's EOS and records
/// with `llama-server --embeddings` or llama.cpp's library, cross-checked
/// against a numpy forward pass); and how a decoder file's
/// `pooling_type` makes it an embedding model, or a clear error.
@Suite struct EmbeddingDecoderReferenceTests {
    struct Reference: Decodable {
        let inputs: [String]
        let tokens: [[Int32]]
        let last: [[Float]]
        let mean: [[Float]]
    }

    /// `<|endoftext|>`, which the recorded model adds after every input as Qwen3-Embedding's files do.
    static let endOfText = 151643

    static func fixture() throws -> (LanguageModel, Tokenizer, Reference) {
        let url = try #require(
            Bundle.module.url(forResource: "tiny-qwen3-f16", withExtension: "gguf", subdirectory: "Fixtures/models"))
        let referenceURL = try #require(
            Bundle.module.url(forResource: "tiny-qwen3-embedding.embeddings", withExtension: "json", subdirectory: "Fixtures/models"))
        let file = try GGUFFile(path: url.path)
        var vocabulary = try TokenizerVocabulary(gguf: file)
        // The two tokenizer keys the script changes; the weights are the fixture's own.
        vocabulary.eosTokenID = endOfText
        vocabulary.addEOS = true
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: referenceURL))
        return (try LanguageModel(file: file), try Tokenizer(vocabulary), reference)
    }

    static let pool = ComputePool(threadCount: 2)

    @Test func tokensMatchLlamaCpp() throws {
        let (_, tokenizer, reference) = try Self.fixture()
        #expect(reference.tokens.contains { $0.count > 200 }, "the reference has a long input")
        for (input, expected) in zip(reference.inputs, reference.tokens) {
            // As EmbeddingsAPI tokenizes a text input: control tokens honoured, as llama-server does.
            #expect(tokenizer.encode(input, parseSpecialTokens: true).map(Int32.init) == expected, "\(input)")
            #expect(expected.last == Int32(Self.endOfText))
        }
    }

    @Test(arguments: [EmbeddingPooling.last, .mean])
    func batchedEmbeddingsMatchLlamaCpp(pooling: EmbeddingPooling) throws {
        let (model, _, reference) = try Self.fixture()
        let embedder = DecoderEmbeddingModel(model: model, pooling: pooling)
        let expected = pooling == .last ? reference.last : reference.mean
        let vectors = try embedder.embed(reference.tokens, pool: Self.pool)
        #expect(vectors.count == expected.count)
        for (index, (vector, wanted)) in zip(vectors, expected).enumerated() {
            #expect(vector.count == model.configuration.embeddingLength && wanted.count == vector.count)
            let similarity = EmbeddingBertReferenceTests.cosine(vector, wanted)
            #expect(similarity >= 0.9999, "\(pooling) input \(index): cosine \(similarity)")
            let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    @Test func lastAndMeanPoolingDiffer() throws {
        // Guards the comparison above: were the two references alike, it would not tell the poolings apart.
        let (_, _, reference) = try Self.fixture()
        let similarities = zip(reference.last, reference.mean).map { EmbeddingBertReferenceTests.cosine($0, $1) }
        #expect(similarities.filter { $0 < 0.99 }.count >= reference.inputs.count - 1)
    }

    @Test func anInputAloneEqualsTheSameInputInABatchAndInSplitBatches() throws {
        let (model, _, reference) = try Self.fixture()
        let embedder = DecoderEmbeddingModel(model: model, pooling: .last)
        let batch = try embedder.embed(reference.tokens, pool: Self.pool)
        for index in [0, reference.tokens.count - 1] {
            let alone = try embedder.embed([reference.tokens[index]], pool: Self.pool)
            #expect(EmbeddingBertReferenceTests.cosine(alone[0], batch[index]) >= 0.99999)
        }
        let split = try EmbeddingEngine.embed(reference.tokens, model: embedder, maxBatchTokens: 20, pool: Self.pool)
        for (a, b) in zip(batch, split) { #expect(EmbeddingBertReferenceTests.cosine(a, b) >= 0.99999) }
    }

    @Test func inputsOverTheContextEmptyOrOutsideTheVocabularyAreRefused() async throws {
        let (model, _, _) = try Self.fixture()
        let embedder = DecoderEmbeddingModel(model: model, pooling: .last)
        let tooLong = [Int32](repeating: 100, count: model.configuration.contextLength + 1)
        for inputs in [[tooLong], [[]], [[Int32(model.vocabularySize)]], [[1, 2], [-1]]] {
            #expect(throws: InferenceError.self) { try embedder.embed(inputs, pool: Self.pool) }
        }
        let error = try #require(throws: InferenceError.self) { try embedder.embed([[1], tooLong], pool: Self.pool) }
        #expect(error.description.contains("exceeds the context of \(model.configuration.contextLength)"))
        #expect(throws: InferenceError.self) { try model.hiddenStates(of: [], pool: Self.pool) }
        let engine = EmbeddingEngine(model: embedder, threadCount: 1)
        defer { engine.shutdown() }
        await #expect(throws: InferenceError.self) { try await engine.embed([tooLong]) }
        #expect(try await engine.embed([[1, 2, 3]]).count == 1)
    }

    // MARK: pooling_type in a decoder's metadata

    private static func file(pooling: UInt32?) throws -> TemporaryFile {
        var builder = GGUFTestModelBuilder.tinyQwen3MoE()
        if let pooling { builder.set("qwen3moe.pooling_type", .uint32(pooling)) }
        return try TemporaryFile(builder.bytes())
    }

    @Test(arguments: [(UInt32(1), EmbeddingPooling.mean), (2, .cls), (3, .last)])
    func aDecoderNamingAPoolingIsAnEmbeddingModel(number: UInt32, pooling: EmbeddingPooling) throws {
        let temporary = try Self.file(pooling: number)
        let file = try GGUFFile(path: temporary.path)
        let model = try #require(try ModelService.embeddingModel(in: file) as? DecoderEmbeddingModel)
        #expect(model.pooling == pooling && model.embeddingLength == 8 && model.contextLength == 64)
        #expect(try model.embed([[1, 2, 3], [4]], pool: Self.pool).allSatisfy { $0.count == 8 })
        let entry = ModelEntry(id: "embedder", path: temporary.path)
        #expect(entry.problem == nil && entry.producesEmbeddings && entry.kvCacheBytes == 0)
        #expect(entry.listing(loaded: false).objectValue?["type"] == "embeddings")
    }

    @Test func aDecoderWithoutPoolingGenerates() throws {
        let temporary = try Self.file(pooling: nil)
        let file = try GGUFFile(path: temporary.path)
        #expect(try ModelService.embeddingModel(in: file) == nil)
        let entry = ModelEntry(id: "generator", path: temporary.path)
        #expect(!entry.producesEmbeddings && entry.kvCacheBytes > 0)
        #expect(entry.listing(loaded: false).objectValue?["type"] == "llm")
    }

    @Test(arguments: [(UInt32(0), "(none)"), (4, "(rank)"), (9, "pools by 1 mean, 2 CLS or 3 last token")])
    func anUnsupportedPoolingIsAClearError(number: UInt32, mention: String) throws {
        let temporary = try Self.file(pooling: number)
        let file = try GGUFFile(path: temporary.path)
        let error = try #require(throws: GGUFError.self) { _ = try ModelService.embeddingModel(in: file) }
        #expect(error.description.contains("qwen3moe.pooling_type \(number)") && error.description.contains(mention))
        let entry = ModelEntry(id: "broken", path: temporary.path)
        #expect(entry.problem?.contains("pooling_type") == true)
    }
}
