/// Turns a conversation into the prompt text a model was trained on.
///
/// Models carry their template as Jinja source in the GGUF metadata
/// (`tokenizer.chat_template`); models without one get ``chatML``.
public struct ChatTemplate: Sendable {
    private let render: @Sendable ([ChatMessage], Bool, ChatTemplateTokens) throws(ChatTemplateError) -> String

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), the format llama.cpp
    /// falls back to for a model without a template.
    public static let chatML = ChatTemplate { messages, addGenerationPrompt, _ in
        var prompt = ""
        for message in messages {
            prompt += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { prompt += "<|im_start|>assistant\n" }
        return prompt
    }

    private init(render: @escaping @Sendable ([ChatMessage], Bool, ChatTemplateTokens) throws(ChatTemplateError) -> String) {
        self.render = render
    }

    /// Renders `messages`, ending with the start of an assistant turn when
    /// `addGenerationPrompt` is set.
    public func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, tokens: ChatTemplateTokens
    ) throws(ChatTemplateError) -> String {
        try render(messages, addGenerationPrompt, tokens)
    }
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
