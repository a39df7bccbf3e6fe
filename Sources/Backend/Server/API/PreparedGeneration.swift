import Foundation
import NIOCore

/// A generation request read, checked and tokenized, ready for the
/// ``InferenceScheduler``: the part of a request's handling that costs time
/// in proportion to its size (up to 16 MiB of JSON, a chat template run
/// over every message, the tokenizer over the result). It runs on the
/// server's thread pool, never on an event loop, where it would hold up
/// every other connection of that loop.
struct PreparedGeneration: Sendable {
    let endpoint: GenerationEndpoint
    let request: GenerationRequest
    let promptTokens: [Int]

    /// Checks `parsed`, a request to `endpoint`, against `service` and tokenizes its prompt.
    init(endpoint: GenerationEndpoint, request parsed: GenerationRequest, service: ModelService) throws(APIError) {
        guard let model = parsed.model, !model.isEmpty else { throw APIError.invalid("'model' is required", parameter: "model") }
        let request = try Self.forcingCalls(parsed, service: service)
        let promptTokens = try Self.promptTokens(of: request, service: service)
        guard !promptTokens.isEmpty else { throw APIError.invalid("the prompt is empty", parameter: "prompt") }
        guard promptTokens.count < service.contextLength else {
            throw APIError.invalid(
                "This model's maximum context length is \(service.contextLength) tokens. However, your prompt has \(promptTokens.count) tokens, which leaves no room for a completion.",
                parameter: endpoint.api.promptParameter, code: "context_length_exceeded")
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

    /// `request` with its forced tool call, if it asks for one, made for
    /// `service`'s call format: the grammar the output follows (which
    /// replaces `response_format`'s: the answer is the call, not content)
    /// and the call markup its prompt ends with.
    static func forcingCalls(_ request: GenerationRequest, service: ModelService) throws(APIError) -> GenerationRequest {
        guard let forced = request.toolCallConstraint else { return request }
        var request = request
        let call = try ForcedToolCall(forced, format: service.template.toolSupport.format)
        request.forcedCall = call
        request.constraint = call.constraint
        return request
    }

    /// The tokens of `request`'s prompt as `service`'s model reads it.
    static func promptTokens(of request: GenerationRequest, service: ModelService) throws(APIError) -> [Int] {
        guard case .chat(let messages) = request.prompt, !request.templateTools.isEmpty else { return try service.tokens(for: request.prompt) }
        return try ModelService.tokens(
            ofChat: messages, tools: request.templateTools, template: service.template, tokenizer: service.tokenizer,
            prefill: request.forcedCall?.prefill ?? "")
    }
}
