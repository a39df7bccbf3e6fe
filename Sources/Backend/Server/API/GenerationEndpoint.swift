/// The paths that start a generation, and the API each speaks.
enum GenerationEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case messages = "/v1/messages"
    case responses = "/v1/responses"

    /// The API type that reads this endpoint's requests and renders its answers.
    var api: any GenerationAPI.Type {
        switch self {
        case .chatCompletions: ChatCompletionsAPI.self
        case .completions: TextCompletionsAPI.self
        case .messages: AnthropicMessagesAPI.self
        case .responses: ResponsesAPI.self
        }
    }
}
