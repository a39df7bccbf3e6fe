/// A generation request from any of the three APIs, checked and reduced to
/// what the engine needs.
struct GenerationRequest: Sendable {
    /// What the prompt is made of.
    enum Prompt: Sendable, Equatable {
        /// Raw text, tokenized as it stands (control tokens written in it are honoured).
        case text(String)
        /// Token ids, run as they are.
        case tokens([Int])
        /// A conversation, rendered with the model's chat template.
        case chat([ChatMessage])
    }

    /// The model the client asked for (`nil` when it named none).
    var model: String?
    var prompt: Prompt
    /// The options; `maxTokens` is `nil` until ``maxTokens`` is resolved against the context.
    var sampling: SamplingParameters
    var stopSequences: [String]
    var ignoreEndOfGeneration = false
    /// The token limit the client gave, if any.
    var maxTokens: Int?
    var stream = false
    /// OpenAI's `stream_options.include_usage`.
    var includeUsage = false
    /// How many alternatives to report per token, or `nil` when log-probabilities are off.
    var logprobs: Int?
    /// The function tools offered.
    var tools: [ToolDefinition] = []
    var toolChoice = ToolChoice.auto
    /// Whether the model may make several calls in one answer.
    var parallelToolCalls = true
    /// Request fields an API's answer repeats as they were sent (the
    /// Responses API echoes its `instructions`).
    var echo: [String: JSONValue] = [:]

    /// The tools the template offers the model: none for `tool_choice: none`,
    /// only the named one for a named function.
    var templateTools: [ToolDefinition] {
        switch toolChoice {
        case .none: []
        case .function(let name): tools.filter { $0.name == name }
        case .auto, .required: tools
        }
    }

    /// Whether the output is read for tool calls.
    var parsesToolCalls: Bool { !templateTools.isEmpty }

    /// What a forced choice asks of the output, for the grammar engine to
    /// enforce (see ``ToolCallConstraint``); `nil` when the model is free.
    var toolCallConstraint: ToolCallConstraint? {
        switch toolChoice {
        case .required, .function: ToolCallConstraint(tools: templateTools, parallel: parallelToolCalls)
        case .auto, .none: nil
        }
    }
    /// The grammar `response_format` asks the output to follow, or a forced call's.
    var constraint: OutputConstraint?
    /// A forced call as the model's template writes it, once
    /// ``PreparedGeneration`` knows the model (`nil` when the model is free).
    var forcedCall: ForcedToolCall?

    /// The engine's options once the prompt length is known: the token limit
    /// is the client's, cut to the room left in the context.
    ///
    /// ``constraint`` (`response_format`'s or a forced call's grammar)
    /// becomes the sampler's.
    func options(roomLeft: Int) -> GenerationOptions {
        GenerationOptions(
            maxTokens: min(maxTokens ?? roomLeft, roomLeft), sampling: sampling, stopSequences: stopSequences,
            ignoreEndOfGeneration: ignoreEndOfGeneration, constraint: constraint)
    }
}

/// The parameters OpenAI's chat and text completions share.
enum OpenAIParameters {
    /// Reads the sampling parameters, stop sequences, token limit and the
    /// refused features (`n` > 1, tools) and the response format.
    static func read(_ fields: RequestFields, into request: inout GenerationRequest, maxTokensKeys: [String]) throws(APIError) {
        if let n = try fields.integer("n", in: 1...128), n != 1 {
            throw .unsupported("n", "'n' greater than 1 is not supported: send one request per completion")
        }
        if fields.has("functions"), fields.members["functions"] != .array([]) {
            throw .unsupported("functions", "'functions' (the deprecated form of tools) is not supported: send 'tools'")
        }
        if fields.has("function_call"), fields.members["function_call"] != .string("none"), fields.members["function_call"] != .string("auto") {
            throw .unsupported("function_call", "'function_call' (the deprecated form of tool_choice) is not supported: send 'tool_choice'")
        }
        try OpenAIToolFields.read(fields, into: &request)
        request.constraint = try ResponseFormat.constraint(fields)
        var sampling = SamplingParameters()
        if let value = try fields.number("temperature", in: 0...2) { sampling.temperature = Float(value) }
        if let value = try fields.number("top_p", in: 0...1) { sampling.topP = Float(value) }
        if let value = try fields.integer("top_k", in: 0...Int(Int32.max)) { sampling.topK = value }
        if let value = try fields.number("min_p", in: 0...1) { sampling.minP = Float(value) }
        if let value = try fields.number("presence_penalty", in: -2...2) { sampling.presencePenalty = Float(value) }
        if let value = try fields.number("frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(value) }
        if let value = try fields.number("repeat_penalty", in: 0...10) { sampling.repetitionPenalty = Float(value) }
        sampling.seed = try seed(fields)
        if let bias = try fields.object("logit_bias") {
            for (key, value) in bias {
                guard let token = Int(key), token >= 0 else {
                    throw .invalid("'logit_bias' keys must be token ids, got '\(key)'", parameter: "logit_bias")
                }
                guard let amount = value.doubleValue, (-100...100).contains(amount) else {
                    throw .invalid("'logit_bias' values must be numbers between -100 and 100", parameter: "logit_bias")
                }
                // As OpenAI documents, -100 bans the token outright.
                sampling.logitBias[token] = amount <= -100 ? -.infinity : Float(amount)
            }
        }
        request.sampling = sampling
        request.stopSequences = try fields.strings("stop").filter { !$0.isEmpty }
        if request.stopSequences.count > 16 {
            throw .invalid("'stop' may hold at most 16 sequences", parameter: "stop")
        }
        for key in maxTokensKeys {
            if let value = try fields.integer(key, in: 1...Int(Int32.max)) { request.maxTokens = value }
        }
        request.ignoreEndOfGeneration = try fields.bool("ignore_eos") ?? false
        request.stream = try fields.bool("stream") ?? false
        if let options = try fields.object("stream_options") {
            request.includeUsage = try RequestFields(options).bool("include_usage") ?? false
        }
        request.model = try fields.string("model")
    }

    /// `seed`: any integer (a negative one by its bit pattern); a random one when absent.
    static func seed(_ fields: RequestFields) throws(APIError) -> UInt64 {
        guard let seed = try fields.integer("seed", in: Int.min...Int.max) else { return UInt64.random(in: 0...UInt64.max) }
        return UInt64(bitPattern: Int64(seed))
    }
}
