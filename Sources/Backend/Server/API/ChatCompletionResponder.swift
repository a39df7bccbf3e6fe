/// `POST /v1/chat/completions` answers: a `chat.completion` object, or
/// `chat.completion.chunk` events whose first delta carries the role and
/// whose last carries the finish reason, then an optional usage chunk
/// (`choices: []`) and `data: [DONE]`.
struct ChatCompletionResponder: GenerationResponder {
    let context: ResponseContext
    let streaming: Bool
    let includeUsage: Bool
    let logprobs: Bool
    private var text = ""
    private var tokenLogprobs: [JSONValue] = []

    init(context: ResponseContext, streaming: Bool, includeUsage: Bool, logprobs: Bool) {
        self.context = context
        self.streaming = streaming
        self.includeUsage = includeUsage
        self.logprobs = logprobs
    }

    private func chunk(delta: JSONValue, logprobs: JSONValue = .null, finishReason: JSONValue = .null) -> String {
        var object: [String: JSONValue] = [
            "id": .string(context.id), "object": "chat.completion.chunk", "created": .integer(context.created),
            "model": .string(context.model), "system_fingerprint": "lmgate",
            "choices": [["index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finishReason]],
        ]
        if includeUsage { object["usage"] = .null }
        return ResponseContext.event(.object(object))
    }

    mutating func start() -> String {
        chunk(delta: ["role": "assistant", "content": ""])
    }

    mutating func step(_ step: SequenceGenerator.Step) -> String {
        let entry: JSONValue? = logprobs ? context.chatLogprob(step.token) : nil
        guard streaming else {
            text += step.text
            if let entry { tokenLogprobs.append(entry) }
            return ""
        }
        guard !step.text.isEmpty || entry != nil else { return "" }
        return chunk(delta: ["content": .string(step.text)], logprobs: entry.map { ["content": [$0]] } ?? .null)
    }

    mutating func finish(_ summary: GenerationSummary) -> String {
        let reason = JSONValue.string(summary.finishReason.openAIName)
        let usage = context.usage(completionTokens: summary.completionTokens, cachedTokens: summary.cachedPromptTokens)
        guard streaming else {
            let body: JSONValue = [
                "id": .string(context.id), "object": "chat.completion", "created": .integer(context.created),
                "model": .string(context.model), "system_fingerprint": "lmgate",
                "choices": [[
                    "index": 0, "message": ["role": "assistant", "content": .string(text)],
                    "logprobs": logprobs ? ["content": .array(tokenLogprobs)] : .null, "finish_reason": reason,
                ]],
                "usage": usage,
            ]
            return body.serialized
        }
        var events = chunk(delta: [:], finishReason: reason)
        if includeUsage {
            events += ResponseContext.event([
                "id": .string(context.id), "object": "chat.completion.chunk", "created": .integer(context.created),
                "model": .string(context.model), "system_fingerprint": "lmgate", "choices": [], "usage": usage,
            ])
        }
        return events + "data: [DONE]\n\n"
    }

    func failure(_ message: String) -> String {
        ResponseContext.event(APIError(status: .internalServerError, message: message, type: "server_error").body) + "data: [DONE]\n\n"
    }
}
