/// `POST /v1/chat/completions` answers: a `chat.completion` object, or
/// `chat.completion.chunk` events whose first delta carries the role and
/// whose last carries the finish reason, then an optional usage chunk
/// (`choices: []`) and `data: [DONE]`.
///
/// With tools, the output is read by a ``ToolCallStream``: text before a
/// call streams as `content`; a call, once whole, is sent as two
/// `delta.tool_calls` chunks (its index, id, type and name with empty
/// arguments, then its arguments), which is how the SDKs assemble calls;
/// the finish reason is then `tool_calls`.
struct ChatCompletionResponder: GenerationResponder {
    let context: ResponseContext
    let streaming: Bool
    let includeUsage: Bool
    let logprobs: Bool
    private var text = ""
    private var tokenLogprobs: [JSONValue] = []
    private var toolCalls: ToolCallStream?

    init(context: ResponseContext, streaming: Bool, includeUsage: Bool, logprobs: Bool, toolCalls: ToolCallStream? = nil) {
        self.context = context
        self.streaming = streaming
        self.includeUsage = includeUsage
        self.logprobs = logprobs
        self.toolCalls = toolCalls
    }

    /// The chunks of `events` (tool calls' and text's); the first carries
    /// `logprobs`, and one with empty content does when there is no other.
    private mutating func chunks(_ events: [ToolCallStream.Event], logprobs: JSONValue = .null) -> String {
        var output = ""
        var logprobs = logprobs
        for event in events {
            switch event {
            case .content(let piece):
                text += piece
                if streaming { output += chunk(delta: ["content": .string(piece)], logprobs: logprobs) }
            case .call(let call, let index):
                guard streaming else { continue }
                output += chunk(
                    delta: ["tool_calls": [[
                        "index": .integer(index), "id": .string(call.id), "type": "function",
                        "function": ["name": .string(call.name), "arguments": ""],
                    ]]], logprobs: logprobs)
                output += chunk(delta: ["tool_calls": [["index": .integer(index), "function": ["arguments": .string(call.arguments)]]]])
            }
            logprobs = .null
        }
        if streaming && logprobs != .null { output += chunk(delta: ["content": ""], logprobs: logprobs) }
        return output
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
        if var toolCalls {
            let events = toolCalls.feed(context.toolCallText(step))
            self.toolCalls = toolCalls
            if !streaming, let entry { tokenLogprobs.append(entry) }
            return chunks(events, logprobs: streaming ? entry.map { ["content": [$0]] } ?? .null : .null)
        }
        guard streaming else {
            text += step.text
            if let entry { tokenLogprobs.append(entry) }
            return ""
        }
        guard !step.text.isEmpty || entry != nil else { return "" }
        return chunk(delta: ["content": .string(step.text)], logprobs: entry.map { ["content": [$0]] } ?? .null)
    }

    mutating func finish(_ summary: GenerationSummary) -> String {
        var events = ""
        var calls: [ToolCall] = []
        if var toolCalls {
            events = chunks(toolCalls.finish())
            calls = toolCalls.calls
            self.toolCalls = toolCalls
        }
        let reason = JSONValue.string(calls.isEmpty ? summary.finishReason.openAIName : "tool_calls")
        let usage = context.usage(completionTokens: summary.completionTokens, cachedTokens: summary.cachedPromptTokens)
        guard streaming else {
            var message: [String: JSONValue] = ["role": "assistant", "content": .string(text)]
            if !calls.isEmpty {
                // OpenAI's own answers have null content beside calls when the model wrote nothing else.
                if text.allSatisfy(\.isWhitespace) { message["content"] = .null }
                message["tool_calls"] = .array(calls.map(Self.toolCallValue))
            }
            let body: JSONValue = [
                "id": .string(context.id), "object": "chat.completion", "created": .integer(context.created),
                "model": .string(context.model), "system_fingerprint": "lmgate",
                "choices": [[
                    "index": 0, "message": .object(message),
                    "logprobs": logprobs ? ["content": .array(tokenLogprobs)] : .null, "finish_reason": reason,
                ]],
                "usage": usage,
            ]
            return body.serialized
        }
        events += chunk(delta: [:], finishReason: reason)
        if includeUsage {
            events += ResponseContext.event([
                "id": .string(context.id), "object": "chat.completion.chunk", "created": .integer(context.created),
                "model": .string(context.model), "system_fingerprint": "lmgate", "choices": [], "usage": usage,
            ])
        }
        return events + "data: [DONE]\n\n"
    }

    func failure(_ message: String) -> String {
        "data: " + APIError(status: .internalServerError, message: message, type: "server_error").serializedBody + "\n\ndata: [DONE]\n\n"
    }

    /// A call in a `chat.completion` message.
    static func toolCallValue(_ call: ToolCall) -> JSONValue {
        ["id": .string(call.id), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
    }
}
