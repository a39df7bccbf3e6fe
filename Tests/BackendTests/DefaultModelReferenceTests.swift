import Foundation
import Testing

@testable import Backend

/// The default model `scripts/setup` installs, SmolLM2-135M-Instruct Q4_1,
/// against an exact F32 forward pass over gguf-py's dequantization of its
/// weights, with llama.cpp's distance from the same reference as the bar.
@Suite("Default model against the exact reference")
struct DefaultModelReferenceTests {
    static func referenceFile() throws -> URL {
        try #require(Bundle.module.url(
            forResource: "SmolLM2-135M-Instruct.Q4_1.reference", withExtension: "json", subdirectory: "Fixtures/models"))
    }

    static func reference() throws -> ModelReference {
        try JSONDecoder().decode(ModelReference.self, from: Data(contentsOf: referenceFile()))
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

    @Test("prompts tokenize and chats render as llama.cpp's")
    func promptsAndChatsAsLlamaCpp() throws {
        let file = try GGUFFile(path: InstalledDefaultModel.require())
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
        for testCase in try Self.reference().cases {
            #expect(tokenizer.encode(testCase.prompt).map(Int32.init) == testCase.promptTokens, "\(testCase.prompt.prefix(30))")
        }
        let chats = try JSONDecoder().decode(
            ChatTemplateReferenceTests.LlamaCppReference.self, from: Data(contentsOf: Self.referenceFile()))
        let template = try ChatTemplate(jinja: #require(try file.metadata.string("tokenizer.chat_template")))
        let tokens = ChatTemplateTokens(beginningOfSequence: "<|im_start|>", endOfSequence: "<|im_end|>")
        #expect(chats.chatTemplates.count == 2)
        for rendering in chats.chatTemplates {
            let prompt = try template.render(rendering.messages.map(\.chatMessage), addGenerationPrompt: true, tokens: tokens)
            #expect(prompt == rendering.prompt)
        }
    }
}
