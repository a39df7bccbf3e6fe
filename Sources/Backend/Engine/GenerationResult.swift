/// What a generation produced, and how long its phases took.
public struct GenerationResult: Sendable {
    /// Why generation ended.
    public enum FinishReason: String, Sendable {
        /// The token limit was reached.
        case length
        /// A stop sequence was produced.
        case stop
        /// The model produced an end-of-generation token.
        case endOfGeneration
    }

    /// The prompt's tokens.
    public let promptTokens: [Int]
    /// The generated tokens with their log-probabilities.
    public let tokens: [SampledToken]
    /// The generated text, up to any stop sequence.
    public let text: String
    /// Why generation ended.
    public let finishReason: FinishReason
    /// Seconds spent on the prompt (prefill).
    public let promptSeconds: Double
    /// Seconds spent generating after the prompt.
    public let generationSeconds: Double
}
