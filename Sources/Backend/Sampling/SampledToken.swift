/// A token the sampler chose, with log-probabilities under the model's
/// distribution (after logit bias and penalties, before temperature and
/// truncation, as the OpenAI API reports them).
public struct SampledToken: Sendable, Equatable {
    /// A token and its log-probability.
    public struct Alternative: Sendable, Equatable {
        public let token: Int
        public let logprob: Double
    }

    /// The chosen token.
    public let token: Int
    /// Its log-probability.
    public let logprob: Double
    /// The most likely tokens, most likely first (as many as asked for).
    public let topLogprobs: [Alternative]
}
