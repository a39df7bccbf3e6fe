import Foundation
import Testing

@testable import Backend

/// Prompts as llama.cpp tokenized them for the test models, BOS included
/// where the model's metadata (or llama.cpp's default for it) says so.
@Suite struct TokenizerModelReferenceTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var prompt: String
            var prompt_tokens: [Int]
            var generated_tokens: [Int]
        }
        var cases: [Case]
    }

    static func load(_ model: String) throws -> (Tokenizer, Reference) {
        let gguf = try #require(Bundle.module.url(forResource: model, withExtension: "gguf", subdirectory: "Fixtures/models"))
        let json = try #require(
            Bundle.module.url(forResource: model, withExtension: "reference.json", subdirectory: "Fixtures/models"))
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: GGUFFile(path: gguf.path)))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: json))
        return (tokenizer, reference)
    }

    @Test(arguments: ["tiny-llama-spm-f16", "tiny-llama3-f16", "tiny-qwen2-f16", "compact-llama-spm-q8_0"])
    func promptsTokenizeAsLlamaCppDid(model: String) throws {
        let (tokenizer, reference) = try Self.load(model)
        #expect(reference.cases.count == 5)
        for testCase in reference.cases {
            #expect(tokenizer.encode(testCase.prompt) == testCase.prompt_tokens, "\(model) \(testCase.prompt.prefix(30))")
        }
    }

    @Test(arguments: ["tiny-llama-spm-f16", "tiny-llama3-f16", "tiny-qwen2-f16"])
    func promptAndGenerationDecodeToThePromptFollowedByTheStreamedText(model: String) throws {
        let (tokenizer, reference) = try Self.load(model)
        for testCase in reference.cases {
            let prompt = testCase.prompt_tokens.filter { $0 != tokenizer.vocabulary.bosTokenID }
            #expect(tokenizer.decode(prompt) == testCase.prompt)
            // Random-weight models generate arbitrary tokens, often single bytes:
            // streaming them must agree with decoding them all at once.
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in testCase.generated_tokens { streamed += stream.append(id) }
            streamed += stream.finish()
            let whole = String(decoding: testCase.generated_tokens.flatMap { tokenizer.pieceBytes($0) }, as: UTF8.self)
            #expect(streamed == whole)
        }
    }

    /// The chat prompt llama.cpp rendered from Qwen 2's template: with special
    /// tokens parsed, each `<|im_start|>`/`<|im_end|>` becomes its one token and
    /// the text between them is tokenized on its own; without, none appears.
    @Test func chatPromptControlTokensAreMatchedOnlyWhenParsingSpecialTokens() throws {
        let tokenizer = try VocabularyFixture.tokenizer("qwen2")
        let start = try #require(tokenizer.vocabulary.tokens.firstIndex(of: "<|im_start|>"))
        let end = try #require(tokenizer.vocabulary.tokens.firstIndex(of: "<|im_end|>"))
        let prompt = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n"
        var expected: [Int] = []
        for segment in ["system\nYou are terse.", "\n", "user\nName a colour.", "\n"].enumerated() {
            if segment.offset % 2 == 0 { expected.append(start) }
            expected += tokenizer.encode(segment.element, addSpecialTokens: false)
            if segment.offset % 2 == 0 { expected.append(end) }
        }
        #expect(tokenizer.encode(prompt, parseSpecialTokens: true) == expected)
        let plain = tokenizer.encode(prompt)
        #expect(!plain.contains(start) && !plain.contains(end))
        #expect(tokenizer.decode(plain) == prompt)
        #expect(tokenizer.decode(expected, renderSpecialTokens: true) == prompt)
    }

    @Test func endOfTurnTokensEndGeneration() throws {
        let cases: [(String, [String])] = [
            ("qwen2", ["<|endoftext|>", "<|im_end|>"]),
            ("llama-bpe", ["<|end_of_text|>", "<|eot_id|>"]),
            ("phi-3", ["<|endoftext|>", "<|end|>"]),
            ("llama-spm", ["</s>"]),
        ]
        for (name, texts) in cases {
            let tokenizer = try VocabularyFixture.tokenizer(name)
            let ids = try texts.map { try #require(tokenizer.vocabulary.tokens.firstIndex(of: $0)) }
            #expect(tokenizer.vocabulary.endOfGenerationTokenIDs == Set(ids), "\(name)")
            #expect(ids.allSatisfy(tokenizer.isEndOfGeneration))
        }
    }
}
