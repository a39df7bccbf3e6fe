import NIOCore

/// `POST /v1/messages/count_tokens`: the number of prompt tokens a Messages
/// request would have (system, messages and tools as the template renders
/// them), `{"input_tokens": N}`. Like Anthropic's, it needs no `max_tokens`.
enum TokenCount {
    static func answer(body: ByteBuffer, service: ModelService) throws(APIError) -> JSONValue {
        let request = try AnthropicMessagesRequestParser.parse(RequestBody.object(body), needsMaxTokens: false)
        // A forced call's markup ends the prompt the generation would run, so it is counted too.
        let tokens = try PreparedGeneration.promptTokens(of: PreparedGeneration.forcingCalls(request, service: service), service: service)
        return ["input_tokens": .integer(tokens.count)]
    }
}
