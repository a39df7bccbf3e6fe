import NIOCore

/// `POST /v1/messages/count_tokens`: the number of prompt tokens a Messages
/// request would have (system, messages and tools as the template renders
/// them), `{"input_tokens": N}`. Like Anthropic's, it needs no `max_tokens`.
enum TokenCount {
    /// The request in `body`: a Messages request without `max_tokens`.
    static func request(from body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        try AnthropicMessagesRequestParser.parse(body, needsMaxTokens: false)
    }

    /// The answer to `request` (from ``request(from:)``) for `service`'s model.
    static func answer(_ request: GenerationRequest, service: ModelService) throws(APIError) -> JSONValue {
        // A forced call's markup ends the prompt the generation would run, so it is counted too.
        let tokens = try PreparedGeneration.promptTokens(of: PreparedGeneration.forcingCalls(request, service: service), service: service)
        return ["input_tokens": .integer(tokens.count)]
    }
}
