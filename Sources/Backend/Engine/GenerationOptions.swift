/// What a generation asks for besides its prompt: how many tokens, how each
/// is chosen, and what ends it early.
public struct GenerationOptions: Sendable, Equatable {
    /// The most tokens to generate (at least one is always generated).
    public var maxTokens: Int
    /// How each token is chosen.
    public var sampling: SamplingParameters
    /// Texts that end the generation; the text returned stops before them.
    public var stopSequences: [String]
    /// Keep going past end-of-generation tokens (as llama.cpp's `ignore_eos`).
    public var ignoreEndOfGeneration: Bool
    /// A grammar the output must follow (structured output), if any.
    public var constraint: OutputConstraint?

    public init(
        maxTokens: Int, sampling: SamplingParameters = SamplingParameters(), stopSequences: [String] = [],
        ignoreEndOfGeneration: Bool = false, constraint: OutputConstraint? = nil
    ) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopSequences = stopSequences
        self.ignoreEndOfGeneration = ignoreEndOfGeneration
        self.constraint = constraint
    }
}
