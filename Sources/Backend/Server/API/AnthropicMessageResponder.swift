/// `POST /v1/messages` answers in Anthropic's shape: a `message` object, or
/// the events `message_start`, `content_block_start`, `ping`,
/// `content_block_delta`…, `content_block_stop`, `message_delta`, `message_stop`.
///
/// Without tools the one text block opens at once. With tools the output is
/// read by a ``ToolCallStream``: a text block opens when text comes, and
/// each call is a `tool_use` block (`content_block_start` with its id and
/// name, one `input_json_delta` with its input, `content_block_stop`); the
/// stop reason is then `tool_use`.
struct AnthropicMessageResponder: GenerationResponder {
    let context: ResponseContext
    let streaming: Bool
    private var text = ""
    private var toolCalls: ToolCallStream?
    /// The blocks of the answer so far (not streaming).
    private var blocks: [JSONValue] = []
    /// The index of the open block, if one is open (streaming).
    private var openBlock: Int?
    private var nextBlock = 0

    init(context: ResponseContext, streaming: Bool, toolCalls: ToolCallStream? = nil) {
        self.context = context
        self.streaming = streaming
        self.toolCalls = toolCalls
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
            + (toolCalls == nil ? openTextBlock() : "")
            + Self.event("ping", ["type": "ping"])
    }

    private mutating func openTextBlock() -> String {
        openBlock = nextBlock
        nextBlock += 1
        return Self.event("content_block_start", ["type": "content_block_start", "index": .integer(openBlock!), "content_block": ["type": "text", "text": ""]])
    }

    private mutating func closeBlock() -> String {
        guard let index = openBlock else { return "" }
        openBlock = nil
        return Self.event("content_block_stop", ["type": "content_block_stop", "index": .integer(index)])
    }

    private mutating func textDelta(_ piece: String) -> String {
        guard !piece.isEmpty else { return "" }
        let opening = openBlock == nil ? openTextBlock() : ""
        return opening + Self.event("content_block_delta", [
            "type": "content_block_delta", "index": .integer(openBlock!), "delta": ["type": "text_delta", "text": .string(piece)],
        ])
    }

    /// What `events` add: text to the text block, calls as `tool_use` blocks.
    private mutating func render(_ events: [ToolCallStream.Event]) -> String {
        var output = ""
        for event in events {
            switch event {
            case .content(let piece):
                if streaming {
                    output += textDelta(piece)
                } else {
                    text += piece
                }
            case .call(let call, _):
                let anthropicID = call.id
                guard streaming else {
                    if !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]) }
                    text = ""
                    blocks.append(["type": "tool_use", "id": .string(anthropicID), "name": .string(call.name), "input": Self.input(call)])
                    continue
                }
                output += closeBlock()
                let index = JSONValue.integer(nextBlock)
                nextBlock += 1
                output += Self.event("content_block_start", [
                    "type": "content_block_start", "index": index,
                    "content_block": ["type": "tool_use", "id": .string(anthropicID), "name": .string(call.name), "input": [:]],
                ])
                output += Self.event("content_block_delta", [
                    "type": "content_block_delta", "index": index, "delta": ["type": "input_json_delta", "partial_json": .string(Self.input(call).serialized)],
                ])
                output += Self.event("content_block_stop", ["type": "content_block_stop", "index": index])
            }
        }
        return output
    }

    /// A call's input: its arguments as an object (Anthropic's `input` is never a string).
    private static func input(_ call: ToolCall) -> JSONValue {
        if case .object = call.argumentsValue { return call.argumentsValue }
        return ["input": call.argumentsValue]
    }

    mutating func step(_ step: SequenceGenerator.Step) -> String {
        if var toolCalls {
            let events = toolCalls.feed(context.toolCallText(step))
            self.toolCalls = toolCalls
            return render(events)
        }
        guard streaming else {
            text += step.text
            return ""
        }
        return textDelta(step.text)
    }

    mutating func finish(_ summary: GenerationSummary) -> String {
        var output = ""
        var calledTools = false
        if var toolCalls {
            output = render(toolCalls.finish())
            calledTools = !toolCalls.calls.isEmpty
            self.toolCalls = toolCalls
        }
        let stopSequence = summary.stopSequence.map { JSONValue.string($0) } ?? .null
        let stopReason = calledTools ? "tool_use" : Self.stopReason(summary)
        guard streaming else {
            var content = blocks
            if !text.isEmpty || (content.isEmpty && toolCalls == nil) { content.append(["type": "text", "text": .string(text)]) }
            let body: JSONValue = [
                "id": .string(context.id), "type": "message", "role": "assistant", "model": .string(context.model),
                "content": .array(content),
                "stop_reason": stopReason, "stop_sequence": stopSequence,
                "usage": usage(outputTokens: summary.completionTokens, cachedTokens: summary.cachedPromptTokens),
            ]
            return body.serialized
        }
        return output + closeBlock()
            + Self.event("message_delta", [
                "type": "message_delta", "delta": ["stop_reason": stopReason, "stop_sequence": stopSequence],
                "usage": ["output_tokens": .integer(summary.completionTokens)],
            ])
            + Self.event("message_stop", ["type": "message_stop"])
    }

    func failure(_ message: String) -> String {
        Self.event("error", ["type": "error", "error": ["type": "api_error", "message": .string(message)]])
    }
}
