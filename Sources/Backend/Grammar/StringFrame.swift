/// Matches the inside of a JSON string after its opening quote: characters
/// counted as code points (for `minLength`/`maxLength`), well-formed UTF-8,
/// no raw control characters, and the short escapes (`\"`, `\n`, …). `\u`
/// escapes are not produced: they would let a key or value be spelled two
/// ways, and nothing needs them.
struct StringFrame: Hashable, Sendable {
    var minLength: Int
    var maxLength: Int
    /// Characters so far.
    var length = 0
    /// Whether the last byte was a backslash.
    var inEscape = false
    var encoding = UTF8Progress()

    /// The outcome of one byte.
    enum Outcome { case rejected, consumed, closed }

    mutating func advance(_ byte: UInt8, allowsEscapes: Bool = true) -> Outcome {
        if inEscape {
            guard Self.escapes.contains(byte) else { return .rejected }
            inEscape = false
            length += 1
            return .consumed
        }
        if byte == UInt8(ascii: "\"") {
            return encoding.isComplete && length >= minLength ? .closed : .rejected
        }
        if byte == UInt8(ascii: "\\") {
            guard allowsEscapes, encoding.isComplete, length < maxLength else { return .rejected }
            inEscape = true
            return .consumed
        }
        if byte < 0x20 { return .rejected }
        var next = encoding
        switch next.accept(byte) {
        case .invalid: return .rejected
        case .continuesCharacter: break
        case .startsCharacter:
            guard length < maxLength else { return .rejected }
            length += 1
        }
        encoding = next
        return .consumed
    }

    private static let escapes: Set<UInt8> = Set("\"\\/bfnrt".utf8)
}
