/// `POST /v1/completions` answers: a `text_completion` object or its
/// streamed chunks, with the legacy `logprobs` object (`tokens`,
/// `token_logprobs`, `top_logprobs`, `text_offset`, plus `token_ids`).
struct TextCompletionResponder: GenerationResponder {
    let context: ResponseContext
    let streaming: Bool
    let includeUsage: Bool
    let logprobs: Bool
    private var text = ""
    private var tokens: [SampledToken] = []

    init(context: ResponseContext, streaming: Bool, includeUsage: Bool, logprobs: Bool) {
        self.context = context
        self.streaming = streaming
        self.includeUsage = includeUsage
        self.logprobs = logprobs
    }

    /// The legacy log-probabilities object of `tokens`, whose text starts at `offset`.
    private func legacyLogprobs(_ tokens: [SampledToken], offset: Int) -> JSONValue {
        var texts: [JSONValue] = []
        var offsets: [JSONValue] = []
        var position = offset
        for token in tokens {
            let piece = context.tokenText(token.token).text
            texts.append(.string(piece))
            offsets.append(.integer(position))
            position += piece.utf16.count
        }
        return [
            "tokens": .array(texts),
            "token_ids": .array(tokens.map { .integer($0.token) }),
            "token_logprobs": .array(tokens.map { .number(max($0.logprob, -9999)) }),
            "top_logprobs": .array(tokens.map { token in
                var alternatives: [String: JSONValue] = [:]
                for alternative in token.topLogprobs {
                    alternatives[context.tokenText(alternative.token).text] = .number(max(alternative.logprob, -9999))
                }
                return .object(alternatives)
            }),
            "text_offset": .array(offsets),
        ]
    }

    private func object(text: String, logprobs: JSONValue, finishReason: JSONValue, usage: JSONValue?) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(context.id), "object": "text_completion", "created": .integer(context.created),
            "model": .string(context.model), "system_fingerprint": "lmgate",
            "choices": [["index": 0, "text": .string(text), "logprobs": logprobs, "finish_reason": finishReason]],
        ]
        if let usage { object["usage"] = usage }
        return .object(object)
    }

    mutating func start() -> String { "" }

    mutating func step(_ step: SequenceGenerator.Step) -> String {
        let offset = text.utf16.count
        text += step.text
        tokens.append(step.token)
        guard streaming, !step.text.isEmpty || logprobs else { return "" }
        return ResponseContext.event(
            object(
                text: step.text, logprobs: logprobs ? legacyLogprobs([step.token], offset: offset) : .null, finishReason: .null,
                usage: includeUsage ? .null : nil))
    }

    mutating func finish(_ summary: GenerationSummary) -> String {
        let reason = JSONValue.string(summary.finishReason.openAIName)
        let usage = context.usage(completionTokens: summary.completionTokens, cachedTokens: summary.cachedPromptTokens)
        guard streaming else {
            return object(text: text, logprobs: logprobs ? legacyLogprobs(tokens, offset: 0) : .null, finishReason: reason, usage: usage).serialized
        }
        var events = ResponseContext.event(object(text: "", logprobs: .null, finishReason: reason, usage: includeUsage ? .null : nil))
        if includeUsage {
            events += ResponseContext.event([
                "id": .string(context.id), "object": "text_completion", "created": .integer(context.created),
                "model": .string(context.model), "choices": [], "usage": usage,
            ])
        }
        return events + "data: [DONE]\n\n"
    }

    func failure(_ message: String) -> String {
        "data: " + APIError(status: .internalServerError, message: message, type: "server_error").serializedBody + "\n\ndata: [DONE]\n\n"
    }
}
