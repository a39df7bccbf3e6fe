/// Reads `POST /v1/responses` bodies (OpenAI's Responses API), statelessly:
/// nothing is stored, so `previous_response_id` is refused and a client
/// sends the whole conversation as `input` items each time.
enum ResponsesRequestParser {
    static func parse(_ body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        let fields = RequestFields(body)
        if fields.has("previous_response_id") {
            throw .invalid(
                "'previous_response_id' is not supported: this server stores no responses; send the earlier items in 'input'",
                parameter: "previous_response_id")
        }
        if fields.has("conversation") {
            throw .invalid("'conversation' is not supported: this server stores no conversations", parameter: "conversation")
        }
        if let reasoning = try fields.object("reasoning"), !reasoning.isEmpty {
            throw .unsupported("reasoning", "'reasoning' options are not supported by this server")
        }
        var messages: [ChatMessage] = []
        var origins: [Int] = []
        if let instructions = try fields.string("instructions") {
            messages.append(ChatMessage(role: "system", content: instructions))
            origins.append(-1)
        }
        try ResponsesInput.read(body["input"], into: &messages, origins: &origins)
        try ToolCallHistory.check(messages, idField: "call_id", parameter: { origins[$0] < 0 ? "instructions" : "input[\(origins[$0])]" })

        var sampling = SamplingParameters()
        if let value = try fields.number("temperature", in: 0...2) { sampling.temperature = Float(value) }
        if let value = try fields.number("top_p", in: 0...1) { sampling.topP = Float(value) }
        sampling.seed = try OpenAIParameters.seed(fields)
        var request = GenerationRequest(prompt: .chat(messages), sampling: sampling, stopSequences: [])
        request.maxTokens = try fields.integer("max_output_tokens", in: 1...Int(Int32.max))
        request.stream = try fields.bool("stream") ?? false
        request.model = try fields.string("model")
        try readTools(fields, into: &request)
        request.constraint = try ResponseFormat.textFormatConstraint(fields)
        if request.constraint != nil { request.echo["text"] = ["format": body["text"]?.objectValue?["format"] ?? .null] }
        request.echo["instructions"] = body["instructions"] ?? .null
        return request
    }

    /// `tools` (`{"type": "function", "name", "description", "parameters", "strict"}`,
    /// flat, unlike chat's), `tool_choice` and `parallel_tool_calls`.
    static func readTools(_ fields: RequestFields, into request: inout GenerationRequest) throws(APIError) {
        request.tools = try ToolDefinition.list(fields.members["tools"], parameter: "tools") { item, index throws(APIError) in
            guard let object = item.objectValue, object["type"] == .string("function") else {
                throw .unsupported("tools", "'tools[\(index)]' must be a function tool: built-in tools are not supported by this server")
            }
            // The chat reader checks the same members, nested under "function".
            return try OpenAIToolFields.tool(["type": "function", "function": .object(object)], at: index)
        }
        switch fields.members["tool_choice"] {
        case .object(let object)? where object["type"] == .string("function"):
            // Chat nests the name under "function"; the Responses API does not.
            request.toolChoice = try OpenAIToolFields.choice(["type": "function", "function": ["name": object["name"] ?? .null]], tools: request.tools)
        case let value:
            request.toolChoice = try OpenAIToolFields.choice(value, tools: request.tools)
        }
        request.parallelToolCalls = try fields.bool("parallel_tool_calls") ?? true
    }
}
