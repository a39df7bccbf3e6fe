import Foundation
import NIOHTTP1
import OpenAIWire

/// An error answer in OpenAI's shape, `{"error":{"message","type","param","code"}}`,
/// with its HTTP status. Anthropic's clients read the same body (they look
/// for `error.type` and `error.message`; the top-level `"type":"error"` is
/// theirs).
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status.
    public let status: HTTPResponseStatus
    /// A sentence saying what is wrong and, when it helps, how to fix it.
    public let message: String
    /// `invalid_request_error`, `not_found_error`, `server_error`, …
    public let type: String
    /// The request field at fault, if one is.
    public let parameter: String?
    /// A machine-readable code (`context_length_exceeded`, `model_not_found`, …).
    public let code: String?

    public init(status: HTTPResponseStatus, message: String, type: String, parameter: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.parameter = parameter
        self.code = code
    }

    /// A bad request (400) naming the field at fault.
    static func invalid(_ message: String, parameter: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", parameter: parameter, code: code)
    }

    /// A feature this server does not offer (yet): 400, never silently ignored.
    static func unsupported(_ parameter: String, _ message: String) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", parameter: parameter, code: "unsupported_parameter")
    }

    /// The body as ``OpenAIErrorBody`` writes it, for the proxy and the backend alike.
    var wire: OpenAIErrorBody {
        OpenAIErrorBody(message: message, type: type, param: parameter, code: code)
    }

    /// The JSON body as text (with the top-level `"type":"error"` Anthropic's clients read).
    var serializedBody: String { wire.jsonWithTypeMember }

    /// The JSON body as a value, read back from ``serializedBody`` so that
    /// there is one writer of the shape.
    var body: JSONValue {
        JSONValue.parse(Data(serializedBody.utf8)) ?? .null
    }
}
