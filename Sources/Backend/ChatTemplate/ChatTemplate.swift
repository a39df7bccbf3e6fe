import Foundation

/// Turns a conversation into the prompt text a model was trained on.
///
/// Models carry their template as Jinja source in the GGUF metadata
/// (`tokenizer.chat_template`), rendered with ``init(jinja:)``; models
/// without one get ``chatML``.
public struct ChatTemplate: Sendable {
    private let render: @Sendable ([ChatMessage], [ToolDefinition], Bool, ChatTemplateTokens, ChatTemplateClock, [String: JinjaValue]) throws(ChatTemplateError) -> String
    /// What the template does with tools, and the format its model writes calls in.
    public let toolSupport: ToolTemplateSupport

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), the format llama.cpp
    /// falls back to for a model without a template.
    public static let chatML = ChatTemplate(toolSupport: .none) { messages, _, addGenerationPrompt, _, _, _ in
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
    /// `tools` (each in OpenAI's shape, `{"type": "function", "function": {…}}`) is
    /// given only when a request has tools: absent, as in llama.cpp, templates
    /// take their tool-free branch. Messages carry `tool_calls` (with
    /// `function.arguments` an object, as Qwen's, Llama's and Mistral's
    /// templates expect) and `tool_call_id` only when they have them (Llama
    /// 3.1 tests `'tool_calls' in message`). What the template does not
    /// render itself is written as text first (``ToolPromptPolyfill``).
    ///
    /// The text is the template's, as jinja2 renders it. llama.cpp's server
    /// does more around the rendering, which is left to callers: it removes
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
        self.init(toolSupport: ToolTemplateSupport(templateSource: source)) { messages, tools, addGenerationPrompt, tokens, clock, extras throws(ChatTemplateError) in
            var context: [String: JinjaValue] = [
                "messages": .list(messages.map(Self.jinjaValue)),
                "add_generation_prompt": .boolean(addGenerationPrompt),
                "bos_token": .string(tokens.beginningOfSequence),
                "eos_token": .string(tokens.endOfSequence),
            ]
            if !tools.isEmpty { context["tools"] = .list(tools.map(Self.jinjaValue)) }
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
        toolSupport: ToolTemplateSupport,
        render: @escaping @Sendable ([ChatMessage], [ToolDefinition], Bool, ChatTemplateTokens, ChatTemplateClock, [String: JinjaValue]) throws(ChatTemplateError) -> String
    ) {
        self.toolSupport = toolSupport
        self.render = render
    }

    /// Renders `messages` offering `tools`,
    /// ending with the start of an assistant turn when `addGenerationPrompt` is set.
    public func render(
        _ messages: [ChatMessage], tools: [ToolDefinition] = [], addGenerationPrompt: Bool, tokens: ChatTemplateTokens
    ) throws(ChatTemplateError) -> String {
        try render(messages, tools: tools, addGenerationPrompt: addGenerationPrompt, tokens: tokens, clock: ChatTemplateClock(now: Date(), timeZone: .current))
    }

    /// Renders as of `clock` (what `strftime_now` gives), with `extras` as
    /// further variables (the template's own win).
    func render(
        _ messages: [ChatMessage], tools: [ToolDefinition] = [], addGenerationPrompt: Bool, tokens: ChatTemplateTokens, clock: ChatTemplateClock,
        extras: [String: JinjaValue] = [:]
    ) throws(ChatTemplateError) -> String {
        let polyfilled = ToolPromptPolyfill.apply(messages, tools: tools, support: toolSupport)
        return try render(polyfilled, toolSupport.rendersTools ? tools : [], addGenerationPrompt, tokens, clock, extras)
    }

    /// A message as templates see it: `role` and `content`, and `tool_calls`
    /// and `tool_call_id` only when it has them.
    private static func jinjaValue(_ message: ChatMessage) -> JinjaValue {
        var members: [(String, JinjaValue)] = [("role", .string(message.role)), ("content", .string(message.content))]
        if !message.toolCalls.isEmpty {
            members.append(("tool_calls", .list(message.toolCalls.map { call in
                .dictionary(JinjaDictionary([
                    ("id", .string(call.id)), ("type", .string("function")),
                    ("function", .dictionary(JinjaDictionary([("name", .string(call.name)), ("arguments", jinjaValue(call.argumentsValue))]))),
                ]))
            })))
        }
        if let id = message.toolCallID { members.append(("tool_call_id", .string(id))) }
        return .dictionary(JinjaDictionary(members))
    }

    /// A tool as templates see it, in the order llama.cpp gives its members
    /// (`type`, then `function` with `name`, `description`, `parameters`).
    private static func jinjaValue(_ tool: ToolDefinition) -> JinjaValue {
        var function: [(String, JinjaValue)] = [("name", .string(tool.name))]
        if let description = tool.description { function.append(("description", .string(description))) }
        function.append(("parameters", jinjaValue(tool.parameters)))
        return .dictionary(JinjaDictionary([("type", .string("function")), ("function", .dictionary(JinjaDictionary(function)))]))
    }

    /// A JSON value as a template value. Object members are sorted by key:
    /// ``JSONValue`` keeps no order, and a prompt must not change between
    /// two renderings of one request (the KV cache reuses equal prefixes).
    static func jinjaValue(_ value: JSONValue) -> JinjaValue {
        switch value {
        case .null: .none
        case .bool(let flag): .boolean(flag)
        case .integer(let number): .integer(number)
        case .number(let number): .double(number)
        case .string(let text): .string(text)
        case .array(let items): .list(items.map(jinjaValue))
        case .object(let members): .dictionary(JinjaDictionary(members.sorted { $0.key < $1.key }.map { ($0.key, jinjaValue($0.value)) }))
        }
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
