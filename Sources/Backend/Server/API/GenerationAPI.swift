/// One generation API of the backend: how its request bodies are read and
/// how its answers are rendered (a JSON body, or Server-Sent Events).
///
/// An API type touches no socket: tests feed it request JSON and generation
/// events and read the bytes it renders. ``BackendAPIHandler`` only moves
/// those bytes.
protocol GenerationAPI {
    /// What response ids start with (`chatcmpl-`, `cmpl-`, `msg_`).
    static var idPrefix: String { get }
    /// The request field a too-long prompt is blamed on.
    static var promptParameter: String { get }
    /// Reads and checks a request body.
    static func request(from body: [String: JSONValue]) throws(APIError) -> GenerationRequest
    /// The responder that renders the answer to `request`.
    static func responder(for request: GenerationRequest, context: ResponseContext) -> any GenerationResponder
}

/// `POST /v1/chat/completions`.
enum ChatCompletionsAPI: GenerationAPI {
    static let idPrefix = "chatcmpl-"
    static let promptParameter = "messages"

    static func request(from body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        try ChatCompletionRequestParser.parse(body)
    }

    static func responder(for request: GenerationRequest, context: ResponseContext) -> any GenerationResponder {
        ChatCompletionResponder(
            context: context, streaming: request.stream, includeUsage: request.includeUsage, logprobs: request.logprobs != nil,
            toolCalls: context.toolCallStream(for: request))
    }
}

/// `POST /v1/completions`.
enum TextCompletionsAPI: GenerationAPI {
    static let idPrefix = "cmpl-"
    static let promptParameter = "prompt"

    static func request(from body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        try TextCompletionRequestParser.parse(body)
    }

    static func responder(for request: GenerationRequest, context: ResponseContext) -> any GenerationResponder {
        TextCompletionResponder(
            context: context, streaming: request.stream, includeUsage: request.includeUsage, logprobs: request.logprobs != nil)
    }
}

/// `POST /v1/messages` (Anthropic's Messages API).
enum AnthropicMessagesAPI: GenerationAPI {
    static let idPrefix = "msg_"
    static let promptParameter = "messages"

    static func request(from body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        try AnthropicMessagesRequestParser.parse(body)
    }

    static func responder(for request: GenerationRequest, context: ResponseContext) -> any GenerationResponder {
        AnthropicMessageResponder(
            context: context, streaming: request.stream, toolCalls: context.toolCallStream(for: request) { ToolCall.makeID(prefix: "toolu_") })
    }
}

/// `POST /v1/responses` (OpenAI's Responses API, stateless).
enum ResponsesAPI: GenerationAPI {
    static let idPrefix = "resp_"
    static let promptParameter = "input"

    static func request(from body: [String: JSONValue]) throws(APIError) -> GenerationRequest {
        try ResponsesRequestParser.parse(body)
    }

    static func responder(for request: GenerationRequest, context: ResponseContext) -> any GenerationResponder {
        ResponsesResponder(context: context, request: request, toolCalls: context.toolCallStream(for: request))
    }
}
