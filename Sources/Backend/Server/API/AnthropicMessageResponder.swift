/// `POST /v1/messages` answers in Anthropic's shape: a `message` object, or
/// the events `message_start`, `content_block_start`, `ping`,
/// `content_block_delta`…, `content_block_stop`, `message_delta`, `message_stop`.
struct AnthropicMessageResponder: GenerationResponder {
    let context: ResponseContext
    let streaming: Bool
    private var text = ""

    init(context: ResponseContext, streaming: Bool) {
        self.context = context
        self.streaming = streaming
    }

    private static func event(_ name: String, _ data: JSONValue) -> String {
        "event: \(name)\ndata: \(data.serialized)\n\n"
    }

    private static func stopReason(_ summary: GenerationSummary) -> JSONValue {
        switch summary.finishReason {
        case .length: "max_tokens"
        case .stop: "stop_sequence"
        case .endOfGeneration: "end_turn"
        }
    }

    private func usage(outputTokens: Int, cachedTokens: Int) -> JSONValue {
        [
            "input_tokens": .integer(context.promptTokens - cachedTokens), "output_tokens": .integer(outputTokens),
            "cache_read_input_tokens": .integer(cachedTokens), "cache_creation_input_tokens": 0,
        ]
    }

    mutating func start() -> String {
        Self.event("message_start", [
            "type": "message_start",
            "message": [
                "id": .string(context.id), "type": "message", "role": "assistant", "content": [], "model": .string(context.model),
                "stop_reason": .null, "stop_sequence": .null, "usage": usage(outputTokens: 0, cachedTokens: 0),
            ],
        ])
            + Self.event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]])
            + Self.event("ping", ["type": "ping"])
    }

    mutating func step(_ step: SequenceGenerator.Step) -> String {
        guard streaming else {
            text += step.text
            return ""
        }
        guard !step.text.isEmpty else { return "" }
        return Self.event("content_block_delta", [
            "type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": .string(step.text)],
        ])
    }

    mutating func finish(_ summary: GenerationSummary) -> String {
        let stopSequence = summary.stopSequence.map { JSONValue.string($0) } ?? .null
        guard streaming else {
            let body: JSONValue = [
                "id": .string(context.id), "type": "message", "role": "assistant", "model": .string(context.model),
                "content": [["type": "text", "text": .string(text)]],
                "stop_reason": Self.stopReason(summary), "stop_sequence": stopSequence,
                "usage": usage(outputTokens: summary.completionTokens, cachedTokens: summary.cachedPromptTokens),
            ]
            return body.serialized
        }
        return Self.event("content_block_stop", ["type": "content_block_stop", "index": 0])
            + Self.event("message_delta", [
                "type": "message_delta", "delta": ["stop_reason": Self.stopReason(summary), "stop_sequence": stopSequence],
                "usage": ["output_tokens": .integer(summary.completionTokens)],
            ])
            + Self.event("message_stop", ["type": "message_stop"])
    }

    func failure(_ message: String) -> String {
        Self.event("error", ["type": "error", "error": ["type": "api_error", "message": .string(message)]])
    }
}
