/// Reads `POST /v1/completions` bodies (OpenAI's legacy completions).
enum TextCompletionRequestParser {
    /// OpenAI's default token limit for legacy completions.
    static let defaultMaxTokens = 16

    static func parse(_ body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        let fields = RequestFields(body)
        var request = GenerationRequest(prompt: try prompt(body["prompt"]), sampling: SamplingParameters(), stopSequences: [])
        try OpenAIParameters.read(fields, into: &request, maxTokensKeys: ["max_tokens"])
        if request.maxTokens == nil { request.maxTokens = defaultMaxTokens }
        if let bestOf = try fields.integer("best_of", in: 1...128), bestOf != 1 {
            throw .unsupported("best_of", "'best_of' greater than 1 is not supported")
        }
        if try fields.bool("echo") == true {
            throw .unsupported("echo", "'echo' is not supported by this server yet")
        }
        if let suffix = try fields.string("suffix"), !suffix.isEmpty {
            throw .unsupported("suffix", "'suffix' (insertion) is not supported by this server yet")
        }
        // The legacy `logprobs` is the number of alternatives (0 gives the chosen token's only).
        request.logprobs = try fields.integer("logprobs", in: 0...20)
        request.sampling.topLogprobs = request.logprobs ?? 0
        return request
    }

    /// `prompt`: a string, an array of token ids, or an array of one of either.
    static func prompt(_ value: JSONValue?) throws(APIError) -> GenerationRequest.Prompt {
        switch value {
        case .string(let text)?:
            return .text(text)
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ if case .integer = $0 { true } else { false } }):
            return .tokens(try tokenIDs(items))
        case .array(let items)? where items.count == 1:
            return try prompt(items[0])
        case .array(let items)? where items.count > 1:
            throw .unsupported("prompt", "several prompts in one request are not supported: send one request per prompt")
        case nil, .null?:
            throw .invalid("'prompt' is required: a string or an array of token ids", parameter: "prompt")
        default:
            throw .invalid("'prompt' must be a string or an array of token ids", parameter: "prompt")
        }
    }

    private static func tokenIDs(_ items: [JSONValue]) throws(APIError) -> [Int] {
        var ids: [Int] = []
        for item in items {
            guard case .integer(let id) = item, id >= 0 else {
                throw .invalid("'prompt' token ids must be non-negative integers", parameter: "prompt")
            }
            ids.append(id)
        }
        return ids
    }
}
