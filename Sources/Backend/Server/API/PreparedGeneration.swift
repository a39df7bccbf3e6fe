import Foundation
import NIOCore

/// A generation request read, checked and tokenized, ready for the
/// ``InferenceScheduler``: the part of a request's handling that costs time
/// in proportion to its size (up to 16 MiB of JSON, a chat template run
/// over every message, the tokenizer over the result). It runs on the
/// server's thread pool, never on an event loop, where it would hold up
/// every other connection of that loop.
struct PreparedGeneration: Sendable {
    let endpoint: BackendAPIHandler.Endpoint
    let request: GenerationRequest
    let promptTokens: [Int]

    /// Parses `body` as a request to `endpoint` and tokenizes its prompt for `service`.
    init(endpoint: BackendAPIHandler.Endpoint, body: ByteBuffer, service: ModelService) throws(APIError) {
        guard let json = JSONValue.parse(Data(body.readableBytesView)) else { throw APIError.invalid("the request body is not valid JSON") }
        guard let object = json.objectValue else { throw APIError.invalid("the request body must be a JSON object") }
        let request: GenerationRequest
        switch endpoint {
        case .chatCompletions: request = try ChatCompletionRequestParser.parse(object)
        case .completions: request = try TextCompletionRequestParser.parse(object)
        case .messages: request = try AnthropicMessagesRequestParser.parse(object)
        }
        guard let model = request.model, !model.isEmpty else { throw APIError.invalid("'model' is required", parameter: "model") }
        guard service.answers(to: model) else { throw BackendAPIHandler.unknownModel(model, service: service) }
        let promptTokens = try service.tokens(for: request.prompt)
        guard !promptTokens.isEmpty else { throw APIError.invalid("the prompt is empty", parameter: "prompt") }
        guard promptTokens.count < service.contextLength else {
            throw APIError.invalid(
                "This model's maximum context length is \(service.contextLength) tokens. However, your prompt has \(promptTokens.count) tokens, which leaves no room for a completion.",
                parameter: endpoint == .completions ? "prompt" : "messages", code: "context_length_exceeded")
        }
        // Asked-for tokens past the context (the training length) are refused, not cut short.
        if let maxTokens = request.maxTokens, maxTokens > service.contextLength - promptTokens.count {
            throw APIError.invalid(
                "This model's maximum context length is \(service.contextLength) tokens. However, you requested \(promptTokens.count + maxTokens) tokens (\(promptTokens.count) in the prompt, \(maxTokens) for the completion). Please reduce the prompt or the completion's maximum length.",
                parameter: "max_tokens", code: "context_length_exceeded")
        }
        self.endpoint = endpoint
        self.request = request
        self.promptTokens = promptTokens
    }
}
