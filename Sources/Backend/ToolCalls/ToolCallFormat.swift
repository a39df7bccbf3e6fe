/// How a model writes tool calls, which its chat template tells.
public enum ToolCallFormat: Sendable, Equatable {
    /// `<tool_call>{"name", "arguments"}</tool_call>`: Qwen 2.5, Hermes, and
    /// the format written into prompts for templates without tool support
    /// (ChatML ones such as SmolLM2's; see ``ToolPromptPolyfill``).
    case hermes
    /// A bare `{"name", "parameters"}` object: Llama 3.x.
    case llamaJSON
    /// `[TOOL_CALLS][{"name", "arguments", "id"}]`: Mistral.
    case mistral

    /// The format a template's source writes calls in.
    init(templateSource source: String) {
        if source.contains("[TOOL_CALLS]") {
            self = .mistral
        } else if source.contains("<|python_tag|>") || (source.contains("<|start_header_id|>") && source.contains("\"parameters\"")) {
            self = .llamaJSON
        } else {
            self = .hermes
        }
    }

    /// The markup of calls in this format that a vocabulary may hold as
    /// control tokens, which generated text leaves out (Mistral's
    /// `[TOOL_CALLS]`, Llama's `<|python_tag|>`): the parser must see them.
    var markers: Set<String> {
        switch self {
        case .hermes: ["<tool_call>", "</tool_call>"]
        case .llamaJSON: [LlamaToolCallParser.pythonTag]
        case .mistral: [MistralToolCallParser.marker]
        }
    }

    func makeParser() -> any ToolCallParser {
        switch self {
        case .hermes: TaggedToolCallParser()
        case .llamaJSON: LlamaToolCallParser()
        case .mistral: MistralToolCallParser()
        }
    }

    /// A new call id for the OpenAI shape; Mistral's templates refuse ids
    /// that are not 9 letters and digits.
    func makeCallID() -> String {
        self == .mistral ? ToolCall.makeID(prefix: "", length: 9) : ToolCall.makeID(prefix: "call_")
    }
}

/// What a chat template does with tools, read from its source.
public struct ToolTemplateSupport: Sendable, Equatable {
    public var format: ToolCallFormat
    /// Whether the template renders the `tools` it is given.
    public var rendersTools: Bool
    /// Whether it renders assistant `tool_calls` and `tool` messages.
    public var rendersToolCalls: Bool

    /// ChatML without a template of its own: nothing native.
    static let none = ToolTemplateSupport(format: .hermes, rendersTools: false, rendersToolCalls: false)

    init(format: ToolCallFormat, rendersTools: Bool, rendersToolCalls: Bool) {
        self.format = format
        self.rendersTools = rendersTools
        self.rendersToolCalls = rendersToolCalls
    }

    init(templateSource source: String) {
        let rendersTools = source.contains("tools")
        self.init(
            format: rendersTools ? ToolCallFormat(templateSource: source) : .hermes,
            rendersTools: rendersTools, rendersToolCalls: source.contains("tool_calls"))
    }
}
