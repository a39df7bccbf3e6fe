import Foundation

/// Turns a conversation into the prompt text a model was trained on.
///
/// Models carry their template as Jinja source in the GGUF metadata
/// (`tokenizer.chat_template`), rendered with ``init(jinja:)``; models
/// without one get ``chatML``.
public struct ChatTemplate: Sendable {
    private let render: @Sendable ([ChatMessage], Bool, ChatTemplateTokens, ChatTemplateClock, [String: JinjaValue]) throws(ChatTemplateError) -> String

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), the format llama.cpp
    /// falls back to for a model without a template.
    public static let chatML = ChatTemplate { messages, addGenerationPrompt, _, _, _ in
        var prompt = ""
        for message in messages {
            prompt += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { prompt += "<|im_start|>assistant\n" }
        return prompt
    }

    /// Parses a Jinja chat template (`tokenizer.chat_template`) once; each
    /// ``render(_:addGenerationPrompt:tokens:)`` then runs it with the
    /// variables Hugging Face and llama.cpp give templates: `messages` (each
    /// with `role` and `content`), `add_generation_prompt`, `bos_token`,
    /// `eos_token`, and the functions `raise_exception` and `strftime_now`.
    ///
    /// `tools` is absent (as in llama.cpp when a request has none), so
    /// templates take their tool-free branch.
    ///
    /// The text is the template's, as jinja2 renders it. llama.cpp's server
    /// does more around the rendering (the first two in
    /// ``renderAsLlamaServer(_:tokens:tokenizerAddsBOS:)``): it removes
    /// a leading `bos_token` when the tokenizer adds one itself (else the
    /// prompt has two), passes `date_string` (today) to Llama 3.x templates, folds a
    /// system message into the first user message for templates that reject
    /// the system role (Gemma), and continues a final assistant message
    /// instead of opening a new turn.
    ///
    /// Throws when the source is not a valid template; the error names the
    /// line and column.
    public init(jinja source: String) throws(ChatTemplateError) {
        let template: JinjaTemplate
        do {
            template = try JinjaTemplate(source)
        } catch {
            throw ChatTemplateError("chat template: \(error)")
        }
        self.init { messages, addGenerationPrompt, tokens, clock, extras throws(ChatTemplateError) in
            var context: [String: JinjaValue] = [
                "messages": .list(messages.map { .dictionary(JinjaDictionary([("role", .string($0.role)), ("content", .string($0.content))])) }),
                "add_generation_prompt": .boolean(addGenerationPrompt),
                "bos_token": .string(tokens.beginningOfSequence),
                "eos_token": .string(tokens.endOfSequence),
            ]
            context.merge(extras) { own, _ in own }
            do throws(JinjaError) {
                return try template.render(context, now: clock.now, timeZone: clock.timeZone)
            } catch {
                // The template's own message is for the client as it stands.
                throw ChatTemplateError(error.isRaisedByTemplate ? error.message : "chat template: \(error)")
            }
        }
    }

    private init(
        render: @escaping @Sendable ([ChatMessage], Bool, ChatTemplateTokens, ChatTemplateClock, [String: JinjaValue]) throws(ChatTemplateError) -> String
    ) {
        self.render = render
    }

    /// Renders `messages`, ending with the start of an assistant turn when
    /// `addGenerationPrompt` is set.
    public func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, tokens: ChatTemplateTokens
    ) throws(ChatTemplateError) -> String {
        try render(messages, addGenerationPrompt, tokens, ChatTemplateClock(now: Date(), timeZone: .current), [:])
    }

    /// Renders as of `clock` (what `strftime_now` gives), for tests.
    func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, tokens: ChatTemplateTokens, clock: ChatTemplateClock
    ) throws(ChatTemplateError) -> String {
        try render(messages, addGenerationPrompt, tokens, clock, [:])
    }

    /// Renders with `extras` as further variables (the template's own win).
    func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, tokens: ChatTemplateTokens, clock: ChatTemplateClock,
        extras: [String: JinjaValue]
    ) throws(ChatTemplateError) -> String {
        try render(messages, addGenerationPrompt, tokens, clock, extras)
    }
}

/// The moment and time zone `strftime_now` formats in a template.
struct ChatTemplateClock: Sendable {
    var now: Date
    var timeZone: TimeZone
}

/// The special tokens a template may refer to (`bos_token`, `eos_token`).
public struct ChatTemplateTokens: Sendable, Equatable {
    public var beginningOfSequence: String
    public var endOfSequence: String

    public init(beginningOfSequence: String, endOfSequence: String) {
        self.beginningOfSequence = beginningOfSequence
        self.endOfSequence = endOfSequence
    }
}

/// Why a template could not be parsed or rendered.
public struct ChatTemplateError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, and where in the template.
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
