/// `POST /v1/responses` answers: a `response` object whose `output` holds
/// a `message` item (the text) and `function_call` items, or its events —
/// `response.created`, `response.in_progress`, then per item
/// `response.output_item.added`, its deltas (`response.output_text.delta`
/// within a content part, or `response.function_call_arguments.delta`), its
/// `…done` events and `response.output_item.done`, and last
/// `response.completed` (`response.incomplete` when `max_output_tokens` cut it).
struct ResponsesResponder: GenerationResponder {
    let context: ResponseContext
    let streaming: Bool
    private let request: GenerationRequest
    private var toolCalls: ToolCallStream?
    /// The finished output items.
    private var output: [JSONValue] = []
    /// The message item being written: its id and text so far.
    private var message: (id: String, text: String)?
    private var sequenceNumber = 0

    init(context: ResponseContext, request: GenerationRequest, toolCalls: ToolCallStream?) {
        self.context = context
        self.streaming = request.stream
        self.request = request
        self.toolCalls = toolCalls
    }

    private mutating func event(_ type: String, _ data: [String: JSONValue]) -> String {
        var data = data
        data["type"] = .string(type)
        data["sequence_number"] = .integer(sequenceNumber)
        sequenceNumber += 1
        return "event: \(type)\ndata: \(JSONValue.object(data).serialized)\n\n"
    }

    /// The response object in `status`, with the request's settings as the API echoes them.
    private func response(status: String, usage: JSONValue = .null, incomplete: Bool = false) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(context.id), "object": "response", "created_at": .integer(context.created), "status": .string(status),
            "model": .string(context.model), "output": .array(output), "error": .null,
            "incomplete_details": incomplete ? ["reason": "max_output_tokens"] : .null,
            "parallel_tool_calls": .bool(request.parallelToolCalls), "tool_choice": Self.toolChoice(request.toolChoice),
            "tools": .array(request.tools.map(Self.tool)),
            "temperature": .number(Double(request.sampling.temperature)), "top_p": .number(Double(request.sampling.topP)),
            "max_output_tokens": request.maxTokens.map { .integer($0) } ?? .null, "previous_response_id": .null,
            "text": ["format": ["type": "text"]], "metadata": [:], "store": false, "usage": usage,
        ]
        for (key, value) in request.echo { object[key] = value }
        return .object(object)
    }

    private static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .function(let name): ["type": "function", "name": .string(name)]
        }
    }

    private static func tool(_ tool: ToolDefinition) -> JSONValue {
        [
            "type": "function", "name": .string(tool.name), "description": tool.description.map { .string($0) } ?? .null,
            "parameters": tool.parameters, "strict": false,
        ]
    }

    private static func messageItem(id: String, text: String?, status: String) -> JSONValue {
        [
            "type": "message", "id": .string(id), "status": .string(status), "role": "assistant",
            "content": text.map { [["type": "output_text", "text": .string($0), "annotations": []]] } ?? [],
        ]
    }

    mutating func start() -> String {
        event("response.created", ["response": response(status: "in_progress")])
            + event("response.in_progress", ["response": response(status: "in_progress")])
    }

    /// Adds text to the message item, opening it first if it is not open.
    private mutating func text(_ piece: String) -> String {
        guard !piece.isEmpty else { return "" }
        var events = ""
        if message == nil {
            message = (ResponseContext.makeID(prefix: "msg_"), "")
            if streaming {
                let index = JSONValue.integer(output.count)
                events += event("response.output_item.added", ["output_index": index, "item": Self.messageItem(id: message!.id, text: nil, status: "in_progress")])
                events += event("response.content_part.added", [
                    "item_id": .string(message!.id), "output_index": index, "content_index": 0,
                    "part": ["type": "output_text", "text": "", "annotations": []],
                ])
            }
        }
        message!.text += piece
        guard streaming else { return events }
        return events + event("response.output_text.delta", [
            "item_id": .string(message!.id), "output_index": .integer(output.count), "content_index": 0, "delta": .string(piece), "logprobs": [],
        ])
    }

    /// Ends the message item, if one is open.
    private mutating func closeMessage() -> String {
        guard let (id, text) = message else { return "" }
        message = nil
        let item = Self.messageItem(id: id, text: text, status: "completed")
        let index = JSONValue.integer(output.count)
        output.append(item)
        guard streaming else { return "" }
        return event("response.output_text.done", ["item_id": .string(id), "output_index": index, "content_index": 0, "text": .string(text), "logprobs": []])
            + event("response.content_part.done", [
                "item_id": .string(id), "output_index": index, "content_index": 0,
                "part": ["type": "output_text", "text": .string(text), "annotations": []],
            ])
            + event("response.output_item.done", ["output_index": index, "item": item])
    }

    private mutating func functionCall(_ call: ToolCall) -> String {
        var events = closeMessage()
        let id = JSONValue.string(ResponseContext.makeID(prefix: "fc_"))
        func item(_ arguments: String, _ status: String) -> JSONValue {
            ["type": "function_call", "id": id, "call_id": .string(call.id), "name": .string(call.name), "arguments": .string(arguments), "status": .string(status)]
        }
        let index = JSONValue.integer(output.count)
        output.append(item(call.arguments, "completed"))
        guard streaming else { return events }
        events += event("response.output_item.added", ["output_index": index, "item": item("", "in_progress")])
        events += event("response.function_call_arguments.delta", ["item_id": id, "output_index": index, "delta": .string(call.arguments)])
        events += event("response.function_call_arguments.done", ["item_id": id, "output_index": index, "arguments": .string(call.arguments)])
        return events + event("response.output_item.done", ["output_index": index, "item": item(call.arguments, "completed")])
    }

    private mutating func render(_ events: [ToolCallStream.Event]) -> String {
        var output = ""
        for event in events {
            switch event {
            case .content(let piece): output += text(piece)
            case .call(let call, _): output += functionCall(call)
            }
        }
        return output
    }

    mutating func step(_ step: SequenceGenerator.Step) -> String {
        guard var toolCalls else { return text(step.text) }
        let events = toolCalls.feed(context.toolCallText(step))
        self.toolCalls = toolCalls
        return render(events)
    }

    mutating func finish(_ summary: GenerationSummary) -> String {
        var events = ""
        if var toolCalls {
            events = render(toolCalls.finish())
            self.toolCalls = toolCalls
        }
        events += closeMessage()
        let usage: JSONValue = [
            "input_tokens": .integer(context.promptTokens), "input_tokens_details": ["cached_tokens": .integer(summary.cachedPromptTokens)],
            "output_tokens": .integer(summary.completionTokens), "output_tokens_details": ["reasoning_tokens": 0],
            "total_tokens": .integer(context.promptTokens + summary.completionTokens),
        ]
        let incomplete = summary.finishReason == .length
        let final = response(status: incomplete ? "incomplete" : "completed", usage: usage, incomplete: incomplete)
        guard streaming else { return final.serialized }
        return events + event(incomplete ? "response.incomplete" : "response.completed", ["response": final])
    }

    func failure(_ message: String) -> String {
        "event: error\ndata: " + JSONValue.object(["type": "error", "code": "server_error", "message": .string(message), "param": .null]).serialized + "\n\n"
    }
}
