import Foundation
import Testing

@testable import Backend

/// Renderings compared with references: llama.cpp's prompts for the fixture
/// models, and Python jinja2's renderings of real models' templates and of
/// small templates covering each feature of the language.
@Suite("ChatTemplate references")
struct ChatTemplateReferenceTests {
    struct LlamaCppReference: Decodable {
        struct Rendering: Decodable {
            let messages: [ChatTemplateFixture.Message]
            let prompt: String
        }

        let chatTemplates: [Rendering]
        /// The day llama.cpp rendered them (for templates that print the date), if recorded.
        let renderedOn: String?

        enum CodingKeys: String, CodingKey {
            case chatTemplates = "chat_templates"
            case renderedOn = "chat_templates_rendered_on"
        }
    }

    @Test("equal to llama.cpp's prompts for the fixture models (their own template, else ChatML)", arguments: FixtureModels.all)
    func llamaCppPrompts(model: String) throws {
        let file = try GGUFFile(path: FixtureModels.path(model))
        let url = try #require(Bundle.module.url(forResource: model + ".reference", withExtension: "json", subdirectory: "Fixtures/models"))
        let reference = try JSONDecoder().decode(LlamaCppReference.self, from: Data(contentsOf: url))
        let vocabulary = try TokenizerVocabulary(gguf: file)
        let tokens = ChatTemplateTokens(
            beginningOfSequence: vocabulary.bosTokenID.map { vocabulary.tokens[$0] } ?? "",
            endOfSequence: vocabulary.eosTokenID.map { vocabulary.tokens[$0] } ?? "")
        let source = try file.metadata.string("tokenizer.chat_template")
        let template = try source.map { source throws in try ChatTemplate(jinja: source) } ?? .chatML
        #expect(!reference.chatTemplates.isEmpty)
        let day = try reference.renderedOn.map { try #require(ISO8601DateFormatter().date(from: $0 + "T12:00:00Z")) }
        let clock = ChatTemplateClock(now: day ?? Date(), timeZone: try #require(TimeZone(identifier: "UTC")))
        for rendering in reference.chatTemplates {
            let prompt = try template.renderAsLlamaServer(
                rendering.messages.map(\.chatMessage), tokens: tokens, tokenizerAddsBOS: vocabulary.addBOS, clock: clock)
            #expect(prompt == rendering.prompt)
        }
    }

    @Test("tiny-qwen2 carries the Qwen2 template, which adds its default system prompt")
    func qwenFixtureHasItsTemplate() throws {
        let file = try GGUFFile(path: FixtureModels.path("tiny-qwen2-f16"))
        let source = try #require(try file.metadata.string("tokenizer.chat_template"))
        let prompt = try ChatTemplate(jinja: source).render(
            [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false,
            tokens: ChatTemplateTokens(beginningOfSequence: "", endOfSequence: ""))
        // Differs from ChatML exactly by the system turn the template adds.
        let chatML = try ChatTemplate.chatML.render(
            [ChatMessage(role: "system", content: "You are a helpful assistant"), ChatMessage(role: "user", content: "Hi")],
            addGenerationPrompt: false, tokens: ChatTemplateTokens(beginningOfSequence: "", endOfSequence: ""))
        #expect(prompt == chatML)
    }

    @Test("equal to jinja2's renderings of real templates", arguments: ChatTemplateFixture.expected.templates)
    func realTemplates(_ reference: ChatTemplateFixture.TemplateCase) throws {
        let template = try ChatTemplate(jinja: ChatTemplateFixture.source(reference.template))
        let tokens = ChatTemplateTokens(beginningOfSequence: reference.bosToken, endOfSequence: reference.eosToken)
        let clock = try ChatTemplateFixture.clock
        let render = { () throws(ChatTemplateError) -> String in
            try template.render(
                reference.messages.map(\.chatMessage), addGenerationPrompt: reference.addGenerationPrompt,
                tokens: tokens, clock: clock)
        }
        if let output = reference.outcome.output {
            #expect(try render() == output)
        } else {
            // raise_exception's message reaches the caller unchanged.
            let error = try #require(throws: ChatTemplateError.self) { try render() }
            #expect(error.description == reference.outcome.error)
        }
    }

    @Test("equal to jinja2 on each feature of the language", arguments: ChatTemplateFixture.expected.features)
    func features(_ reference: ChatTemplateFixture.FeatureCase) throws {
        let outcome = reference.outcome
        if outcome.error == "syntax" {
            // jinja2 checks filter names while compiling; this interpreter when it applies one.
            let error = try #require(throws: JinjaError.self) {
                _ = try JinjaTemplate(reference.template).render(ChatTemplateFixture.featureContext)
            }
            #expect(error.location != nil, "\(error)")
            return
        }
        let template = try JinjaTemplate(reference.template)
        let clock = try ChatTemplateFixture.clock
        let render = { () throws(JinjaError) -> String in
            try template.render(ChatTemplateFixture.featureContext, now: clock.now, timeZone: clock.timeZone)
        }
        if let output = outcome.output {
            #expect(try render() == output)
        } else {
            let error = try #require(throws: JinjaError.self) { try render() }
            if outcome.raised == true {
                #expect(error.isRaisedByTemplate)
                #expect(error.description == outcome.error)
            } else {
                #expect(!error.isRaisedByTemplate)
                #expect(error.location != nil, "\(error)")
            }
        }
    }

    @Test("syntax errors are found when parsing and name the line jinja2 names")
    func syntaxErrorLines() throws {
        for reference in ChatTemplateFixture.expected.features where reference.name.hasPrefix("syntax-") {
            let error = try #require(throws: ChatTemplateError.self) { try ChatTemplate(jinja: reference.template) }
            let line = try #require(reference.outcome.line)
            // An unclosed block is reported where it opens, jinja2 reports the end of the source.
            if reference.name != "syntax-unclosed-if" {
                #expect(error.description.contains("line \(line), column "), "\(reference.name): \(error)")
            } else {
                #expect(error.description.contains("is never closed"), "\(reference.name): \(error)")
            }
        }
    }
}
