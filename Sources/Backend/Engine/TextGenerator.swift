import Foundation

/// The generation loop: tokenize the prompt, run it through the model in one
/// batch, then sample a token, show its text and feed it back, until the
/// token limit, a stop sequence or an end-of-generation token.
public final class TextGenerator {
    /// The model.
    public let model: LanguageModel
    /// The tokenizer read from the same GGUF file.
    public let tokenizer: Tokenizer
    private let pool: ComputePool

    /// Loads the model and its tokenizer from the GGUF file at `path`, running
    /// on `threads` threads (all cores by default).
    public convenience init(path: String, threads: Int? = nil) throws {
        let file = try GGUFFile(path: path)
        try self.init(model: LanguageModel(file: file), tokenizer: Tokenizer(TokenizerVocabulary(gguf: file)), threads: threads)
    }

    /// Uses an already-loaded model and tokenizer.
    public init(model: LanguageModel, tokenizer: Tokenizer, threads: Int? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        pool = ComputePool(threadCount: max(1, threads ?? ComputePool.availableCores))
    }

    /// Generates a continuation of `prompt`, calling `onText` with each piece
    /// of text as soon as it is complete (whole UTF-8 characters, never part
    /// of a stop sequence).
    ///
    /// - Parameters:
    ///   - maxTokens: the most tokens to generate.
    ///   - ignoreEndOfGeneration: keep going past end-of-generation tokens
    ///     (as llama.cpp's `ignore_eos`).
    public func generate(
        prompt: String, maxTokens: Int, sampling: SamplingParameters = SamplingParameters(),
        stopSequences: [String] = [], ignoreEndOfGeneration: Bool = false,
        onText: (String) -> Void = { _ in }
    ) throws -> GenerationResult {
        let promptTokens = tokenizer.encode(prompt)
        let cache = KVCache(for: model, capacity: min(model.configuration.contextLength, promptTokens.count + maxTokens))
        var sampler = Sampler(sampling)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var stops = StopSequenceMatcher(stopSequences)
        var history = promptTokens
        var sampled: [SampledToken] = []
        var text = ""
        var finishReason = GenerationResult.FinishReason.length
        func show(_ piece: String) {
            guard !piece.isEmpty else { return }
            text += piece
            onText(piece)
        }

        let promptStart = Date()
        var logits = try model.forward(promptTokens.map { Int32($0) }, cache: cache, pool: pool)
        let generationStart = Date()
        while sampled.count < maxTokens {
            let next = sampler.sample(logits, history: history)
            sampled.append(next)
            history.append(next.token)
            if !ignoreEndOfGeneration && tokenizer.isEndOfGeneration(next.token) {
                finishReason = .endOfGeneration
                break
            }
            show(stops.append(detokenizer.append(next.token)))
            if stops.stopped {
                finishReason = .stop
                break
            }
            guard sampled.count < maxTokens, cache.count < cache.capacity else { break }
            logits = try model.forward([Int32(next.token)], cache: cache, pool: pool)
        }
        if !stops.stopped {
            show(stops.append(detokenizer.finish()))
            show(stops.finish())
        }
        return GenerationResult(
            promptTokens: promptTokens, tokens: sampled, text: text, finishReason: finishReason,
            promptSeconds: generationStart.timeIntervalSince(promptStart),
            generationSeconds: Date().timeIntervalSince(generationStart))
    }
}
