/// What the ``InferenceScheduler`` reports about one submitted generation,
/// in order: zero or more ``step(_:)``, then exactly one ``finished(_:)`` or
/// ``failed(_:)`` (nothing after ``InferenceScheduler/cancel(_:)``).
public enum GenerationEvent: Sendable {
    /// A token was generated (the last step also carries the finish reason).
    case step(SequenceGenerator.Step)
    /// The generation ended normally.
    case finished(GenerationSummary)
    /// The generation could not go on; the message says why.
    case failed(String)
}

/// The totals of a finished generation.
public struct GenerationSummary: Sendable {
    /// The number of prompt tokens.
    public let promptTokens: Int
    /// How many of them were taken from a kept KV cache instead of being computed.
    public let cachedPromptTokens: Int
    /// The number of generated tokens.
    public let completionTokens: Int
    /// Why the generation ended.
    public let finishReason: GenerationResult.FinishReason
    /// The stop sequence that ended it, if one did.
    public let stopSequence: String?
}
