/// How the next token is chosen from the model's logits.
public struct SamplingParameters: Sendable, Equatable {
    /// Divides the logits; 0 (or less) picks the most likely token (greedy).
    public var temperature: Float = 0.8
    /// Keeps only the `topK` most likely tokens; 0 keeps all.
    public var topK: Int = 40
    /// Keeps the most likely tokens whose probabilities sum to at least `topP`; 1 keeps all.
    public var topP: Float = 0.95
    /// Drops tokens less likely than `minP` times the most likely one; 0 keeps all.
    public var minP: Float = 0.05
    /// Divides positive (multiplies negative) logits of recently seen tokens; 1 is off.
    public var repetitionPenalty: Float = 1
    /// Subtracted once from the logit of every recently seen token.
    public var presencePenalty: Float = 0
    /// Subtracted from a recently seen token's logit once per occurrence.
    public var frequencyPenalty: Float = 0
    /// How many of the last tokens the penalties look at.
    public var penaltyWindow: Int = 64
    /// Added to the logits of the given tokens (−infinity bans a token).
    public var logitBias: [Int: Float] = [:]
    /// The seed of the random choice; the same seed gives the same tokens.
    public var seed: UInt64 = 0
    /// How many most likely alternatives to report with each token.
    public var topLogprobs: Int = 0

    /// The defaults above (llama.cpp's).
    public init() {}

    /// Greedy decoding: always the most likely token.
    public static var greedy: SamplingParameters {
        var parameters = SamplingParameters()
        parameters.temperature = 0
        return parameters
    }
}
