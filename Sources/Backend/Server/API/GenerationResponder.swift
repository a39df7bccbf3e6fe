import Foundation

/// Turns a generation's events into one API's response: Server-Sent Events
/// as they come when streaming, or one JSON body at the end.
protocol GenerationResponder {
    /// Whether the response is an event stream.
    var streaming: Bool { get }
    /// What a streaming response begins with, right after its head.
    mutating func start() -> String
    /// What to send for one generated token (streaming), or "" while the
    /// answer is being gathered (not streaming).
    mutating func step(_ step: SequenceGenerator.Step) -> String
    /// The end of the stream, or the whole JSON body.
    mutating func finish(_ summary: GenerationSummary) -> String
    /// What ends a stream that failed after it began.
    func failure(_ message: String) -> String
}

/// What every responder needs to know about the request.
struct ResponseContext {
    /// The response's id (`chatcmpl-…`, `cmpl-…`, `msg_…`).
    let id: String
    let created: Int
    let model: String
    let promptTokens: Int
    let tokenizer: Tokenizer
    /// How the model writes tool calls (its template's format).
    var toolCallFormat = ToolCallFormat.hermes

    /// What a tool-call parser reads for `step`: its text, or, for a control
    /// token that is one of the format's ``ToolCallFormat/markers``, the
    /// token's own text (which the step's text leaves out).
    func toolCallText(_ step: SequenceGenerator.Step) -> String {
        guard step.text.isEmpty, tokenizer.vocabulary.type(of: step.token.token) == .control else { return step.text }
        let text = tokenText(step.token.token).text
        return toolCallFormat.markers.contains(text) ? text : step.text
    }

    /// A reader of the output's tool calls for `request`, or `nil` when it offers none.
    func toolCallStream(for request: GenerationRequest, makeID: (@Sendable () -> String)? = nil) -> ToolCallStream? {
        guard request.parsesToolCalls else { return nil }
        let format = toolCallFormat
        return ToolCallStream(
            parser: format.makeParser(), parallel: request.parallelToolCalls, opening: request.forcedCall?.prefill ?? "",
            makeID: makeID ?? { format.makeCallID() })
    }

    /// A random id with `prefix`.
    static func makeID(prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    /// The text and bytes of one token, as log-probability entries show it.
    func tokenText(_ token: Int) -> (text: String, bytes: [UInt8]) {
        let bytes = Array(tokenizer.pieceBytes(token, renderSpecialTokens: true))
        return (String(decoding: bytes, as: UTF8.self), bytes)
    }

    /// One `logprobs.content` entry of the chat API, with the token's `id`
    /// as llama.cpp's server adds it (token text alone is ambiguous).
    func chatLogprob(_ token: SampledToken) -> JSONValue {
        func entry(_ id: Int, _ logprob: Double) -> [String: JSONValue] {
            let (text, bytes) = tokenText(id)
            return ["id": .integer(id), "token": .string(text), "logprob": .number(max(logprob, -9999)), "bytes": .array(bytes.map { .integer(Int($0)) })]
        }
        var object = entry(token.token, token.logprob)
        object["top_logprobs"] = .array(token.topLogprobs.map { .object(entry($0.token, $0.logprob)) })
        return .object(object)
    }

    /// The usage object of the OpenAI APIs.
    func usage(completionTokens: Int, cachedTokens: Int) -> JSONValue {
        [
            "prompt_tokens": .integer(promptTokens), "completion_tokens": .integer(completionTokens),
            "total_tokens": .integer(promptTokens + completionTokens),
            "prompt_tokens_details": ["cached_tokens": .integer(cachedTokens)],
        ]
    }

    /// A `data:` line of an OpenAI event stream.
    static func event(_ value: JSONValue) -> String {
        "data: \(value.serialized)\n\n"
    }
}

extension GenerationResult.FinishReason {
    /// OpenAI's `finish_reason`: an end-of-generation token and a stop sequence both are `stop`.
    var openAIName: String {
        self == .length ? "length" : "stop"
    }
}
