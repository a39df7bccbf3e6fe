/// The kind of a vocabulary entry, as GGUF's `tokenizer.ggml.token_type` stores it.
///
/// The kind decides how a token takes part in tokenization: ``control`` and
/// ``userDefined`` tokens are matched as whole strings in the input (control
/// tokens only when special-token parsing is on), ``byte`` tokens stand for one
/// raw byte (`<0x0A>`), and control tokens render as nothing unless asked for.
public enum TokenType: Int32, Sendable, Hashable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6

    /// The type for a stored value; values GGUF does not define read as ``undefined``.
    public init(stored value: Int32) {
        self = TokenType(rawValue: value) ?? .undefined
    }

    /// Whether the token is matched as a whole string in the input text
    /// before the text is split into pieces.
    var isMatchedInText: Bool {
        self == .control || self == .userDefined || self == .unknown
    }
}
