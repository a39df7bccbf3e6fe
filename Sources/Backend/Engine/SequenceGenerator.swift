/// One sequence's generation state, apart from its KV cache: the sampler,
/// the streaming detokenizer, the stop-sequence watch and the tokens so far.
///
/// Whoever runs the model (``TextGenerator`` for `lmgate run`, the
/// ``InferenceScheduler`` for the server) feeds it the logits of each
/// position with ``accept(_:canContinue:)``; it chooses the token, decides
/// whether the generation ends (end-of-generation token, stop sequence,
/// token limit) and returns the text that became final. Both callers thus
/// share one implementation of sampling, stopping and detokenization.
public struct SequenceGenerator: Sendable {
    /// What one accepted position produced.
    public struct Step: Sendable {
        /// The token chosen, with its log-probabilities.
        public let token: SampledToken
        /// Text that is final now: whole UTF-8 characters, never part of a
        /// stop sequence (often empty while a character or a possible stop
        /// sequence is pending).
        public let text: String
        /// Why the generation ended with this token, or `nil` if it goes on.
        public let finishReason: GenerationResult.FinishReason?
    }

    /// The prompt's tokens.
    public let promptTokens: [Int]
    /// The options in force.
    public let options: GenerationOptions
    /// The tokens generated so far.
    public private(set) var generated: [SampledToken] = []
    /// The text shown so far.
    public private(set) var text = ""
    /// Why the generation ended, once it has.
    public private(set) var finishReason: GenerationResult.FinishReason?
    /// The stop sequence that ended the generation, if one did.
    public private(set) var matchedStopSequence: String?

    private let tokenizer: Tokenizer
    private var sampler: Sampler
    private var detokenizer: StreamingDetokenizer
    private var stops: StopSequenceMatcher
    /// The output constraint's state, when there is one.
    private var filter: GrammarTokenFilter?
    private var history: [Int]
    /// Everything detokenized, including text held back or cut by a stop
    /// sequence (to tell which stop sequence matched).
    private var rawText = ""

    public init(tokenizer: Tokenizer, promptTokens: [Int], options: GenerationOptions) {
        self.tokenizer = tokenizer
        self.promptTokens = promptTokens
        self.options = options
        sampler = Sampler(options.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        stops = StopSequenceMatcher(options.stopSequences)
        history = promptTokens
        filter = options.constraint.map { GrammarTokenFilter($0, tokenizer: tokenizer) }
    }

    /// Whether the generation has ended.
    public var isFinished: Bool { finishReason != nil }

    /// Chooses the next token from `logits` (the model's output for the last
    /// position) and returns it with the text it completes.
    ///
    /// - Parameter canContinue: whether the cache has room to run the chosen
    ///   token; if not, the generation ends with ``GenerationResult/FinishReason/length``.
    public mutating func accept(_ logits: [Float], canContinue: Bool) -> Step {
        precondition(finishReason == nil, "accept(_:canContinue:) called after the generation ended")
        let next = filter.map { choose(logits, within: $0) } ?? sampler.sample(logits, history: history)
        filter?.accept(next.token)
        generated.append(next)
        history.append(next.token)
        var shown = ""
        if !options.ignoreEndOfGeneration && tokenizer.isEndOfGeneration(next.token) {
            finishReason = .endOfGeneration
        } else {
            shown += release(detokenizer.append(next.token))
            if stops.stopped {
                finishReason = .stop
            } else if filter?.isFinished == true {
                // The grammar's document is complete and nothing may follow: as if the model had ended it.
                finishReason = .endOfGeneration
            } else if generated.count >= options.maxTokens || !canContinue {
                finishReason = .length
            }
        }
        if finishReason != nil && !stops.stopped {
            // The stream ends: let out what the detokenizer and the stop watch held back.
            shown += release(detokenizer.finish())
            if stops.stopped { finishReason = .stop } else { shown += stops.finish() }
        }
        if stops.stopped && matchedStopSequence == nil {
            matchedStopSequence = options.stopSequences.filter { !$0.isEmpty }
                .compactMap { stop in rawText.range(of: stop).map { (stop, $0.lowerBound) } }
                .min { $0.1 < $1.1 }?.0
        }
        text += shown
        return Step(token: next, text: shown, finishReason: finishReason)
    }

    /// Samples as usual and keeps the token if the grammar allows it; only
    /// otherwise masks every token the grammar refuses and samples again
    /// (checking one token is far cheaper than finding all allowed ones).
    private mutating func choose(_ logits: [Float], within filter: GrammarTokenFilter) -> SampledToken {
        let first = sampler.sample(logits, history: history)
        if filter.allows(first.token) { return first }
        let allowed = filter.allowedTokens()
        var masked = [Float](repeating: -.infinity, count: logits.count)
        for token in allowed where token < logits.count { masked[token] = logits[token] }
        let second = sampler.sample(masked, history: history)
        if filter.allows(second.token) || allowed.isEmpty { return second }
        // Every allowed token was banned by logit bias: the grammar wins.
        return SampledToken(token: allowed[0], logprob: -.infinity, topLogprobs: [])
    }

    private mutating func release(_ piece: String) -> String {
        rawText += piece
        return stops.append(piece)
    }
}
