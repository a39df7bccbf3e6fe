/// The error body of the OpenAI API, `{"error":{"message","type","param","code"}}`,
/// written the one way both the proxy and the backend write it.
///
/// The members are written in that order (not sorted), so the body reads as
/// OpenAI's own does.
public struct OpenAIErrorBody: Sendable, Equatable {
    /// A sentence saying what is wrong.
    public var message: String
    /// `invalid_request_error`, `server_error`, `upstream_error`, …
    public var type: String
    /// The request field at fault (`null` when none is).
    public var param: String?
    /// A machine-readable code (`null` when there is none).
    public var code: String?

    public init(message: String, type: String, param: String? = nil, code: String? = nil) {
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    /// The body as compact JSON text: `{"error":{…}}`.
    public var json: String {
        "{" + errorMember + "}"
    }

    /// The body with a top-level `"type":"error"` after the `error` object,
    /// for a server that answers Anthropic's clients too (they look for it;
    /// OpenAI's ignore it).
    public var jsonWithTypeMember: String {
        "{" + errorMember + #","type":"error"}"#
    }

    private var errorMember: String {
        var text = #""error":{"message":"#
        text += Self.quoted(message)
        text += #","type":"# + Self.quoted(type)
        text += #","param":"# + (param.map(Self.quoted) ?? "null")
        text += #","code":"# + (code.map(Self.quoted) ?? "null")
        return text + "}"
    }

    /// `text` as a JSON string literal: quotes, backslashes and control
    /// characters escaped; everything else as it is (JSON text is UTF-8).
    public static func quoted(_ text: String) -> String {
        var escaped = "\""
        escaped.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
