import Foundation

/// The generation loop of `lmgate run`: tokenize the prompt, run it through
/// the model in one batch, then let a ``SequenceGenerator`` choose each token
/// and feed it back, until the token limit, a stop sequence or an
/// end-of-generation token.
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
        let options = GenerationOptions(
            maxTokens: maxTokens, sampling: sampling, stopSequences: stopSequences,
            ignoreEndOfGeneration: ignoreEndOfGeneration)
        return try generate(promptTokens: tokenizer.encode(prompt), options: options, onText: onText)
    }

    /// Generates a continuation of `promptTokens`; see ``generate(prompt:maxTokens:sampling:stopSequences:ignoreEndOfGeneration:onText:)``.
    public func generate(promptTokens: [Int], options: GenerationOptions, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        var sequence = SequenceGenerator(tokenizer: tokenizer, promptTokens: promptTokens, options: options)
        let promptStart = Date()
        guard options.maxTokens > 0 else {
            return GenerationResult(
                promptTokens: promptTokens, tokens: [], text: "", finishReason: .length, promptSeconds: 0, generationSeconds: 0)
        }
        let cache = KVCache(for: model, capacity: min(model.configuration.contextLength, promptTokens.count + options.maxTokens))
        var logits = try model.forward(promptTokens.map { Int32($0) }, cache: cache, pool: pool)
        let generationStart = Date()
        while true {
            let step = sequence.accept(logits, canContinue: cache.count < cache.capacity)
            if !step.text.isEmpty { onText(step.text) }
            if step.finishReason != nil { break }
            logits = try model.forward([Int32(step.token.token)], cache: cache, pool: pool)
        }
        return GenerationResult(
            promptTokens: promptTokens, tokens: sequence.generated, text: sequence.text,
            finishReason: sequence.finishReason ?? .length,
            promptSeconds: generationStart.timeIntervalSince(promptStart),
            generationSeconds: Date().timeIntervalSince(generationStart))
    }
}
