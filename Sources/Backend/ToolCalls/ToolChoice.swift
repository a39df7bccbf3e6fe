/// Whether and which tool the model is to call (OpenAI's `tool_choice`,
/// Anthropic's `tool_choice.type`).
public enum ToolChoice: Sendable, Equatable {
    /// The model decides (`auto`).
    case auto
    /// No call: the template gets no tools, the output is not parsed (`none`).
    case none
    /// Some call (`required`, Anthropic's `any`).
    case required
    /// A call of this function (a named function, Anthropic's `tool`).
    case function(String)
}

/// What a forced tool choice asks of the output.
///
/// ``ForcedToolCall`` compiles it into a grammar of the calls allowed — the
/// tools' names and argument schemas, in the template's ``ToolCallFormat``
/// — and the sampler then allows only tokens that keep the output such a
/// call. ``GenerationRequest/toolCallConstraint`` is where a request carries it.
public struct ToolCallConstraint: Sendable, Equatable {
    /// The tools of which one must be called (one, for a named function).
    public var tools: [ToolDefinition]
    /// Whether more than one call may follow the first.
    public var parallel: Bool
}
