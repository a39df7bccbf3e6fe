import Foundation
import Testing

@testable import Backend

@Suite("Generation loop")
struct ModelGenerationTests {
    @Test("prompts tokenize as llama.cpp tokenized them", arguments: FixtureModels.all)
    func promptTokens(name: String) throws {
        let file = try GGUFFile(path: FixtureModels.path(name))
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
        for testCase in try FixtureModels.reference(name).cases {
            #expect(tokenizer.encode(testCase.prompt).map { Int32($0) } == testCase.promptTokens, "\(name): \(testCase.prompt)")
        }
    }

    /// On the F16 models neither llama.cpp nor we disagree with the exact
    /// top-1 anywhere, so greedy decoding must reproduce llama.cpp's tokens.
    @Test("greedy generation reproduces llama.cpp's tokens", arguments: FixtureModels.f16)
    func greedyGeneration(name: String) throws {
        let generator = try TextGenerator(path: FixtureModels.path(name), threads: 2)
        let testCase = try #require(FixtureModels.reference(name).cases.first)
        var streamed = ""
        let result = try generator.generate(
            prompt: testCase.prompt, maxTokens: testCase.generatedTokens.count, sampling: .greedy,
            ignoreEndOfGeneration: true) { streamed += $0 }
        #expect(result.promptTokens.map { Int32($0) } == testCase.promptTokens)
        #expect(result.tokens.map { Int32($0.token) } == testCase.generatedTokens)
        #expect(result.finishReason == .length)
        #expect(streamed == result.text)
        // Decoded after the prompt: SentencePiece drops the leading space of a
        // sequence's first token, not of a continuation's (" frame" after "Hello world").
        let prompt = generator.tokenizer.decode(result.promptTokens)
        #expect(prompt + result.text == generator.tokenizer.decode(result.promptTokens + result.tokens.map(\.token)))
    }

    @Test("a stop sequence ends generation; a seed repeats it")
    func stopAndSeed() throws {
        let generator = try TextGenerator(path: FixtureModels.path("tiny-llama-spm-f16"), threads: 2)
        var sampling = SamplingParameters()
        sampling.temperature = 1
        sampling.seed = 7
        let free = try generator.generate(prompt: "Hello world", maxTokens: 12, sampling: sampling)
        let again = try generator.generate(prompt: "Hello world", maxTokens: 12, sampling: sampling)
        #expect(free.tokens == again.tokens && free.text == again.text)
        // Stop at the text of the third token onwards.
        let stop = String(generator.tokenizer.decode(free.tokens.prefix(3).map(\.token)).dropFirst(generator.tokenizer.decode(free.tokens.prefix(2).map(\.token)).count))
        try #require(!stop.isEmpty)
        let stopped = try generator.generate(prompt: "Hello world", maxTokens: 12, sampling: sampling, stopSequences: [stop])
        #expect(stopped.finishReason == .stop)
        #expect(!stopped.text.contains(stop))
        #expect(free.text.hasPrefix(stopped.text))
    }
}
