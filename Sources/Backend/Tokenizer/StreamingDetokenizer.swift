/// Turns generated tokens into text as they arrive, never cutting a UTF-8
/// character in half.
///
/// A character may span several tokens (an emoji spelled as four `<0xNN>`
/// byte tokens, or split between two BPE tokens). ``append(_:)`` returns only
/// complete characters and holds back the bytes of one that has begun but not
/// ended; ``finish()`` returns what is held back when the stream ends. Bytes
/// that can never form a character come out as U+FFFD, so every string
/// returned is valid on its own.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let renderSpecialTokens: Bool
    private var removeLeadingSpace: Bool
    private var pending: [UInt8] = []

    /// - Parameters:
    ///   - renderSpecialTokens: write control tokens out as their text.
    ///   - atStartOfText: the tokens begin a text (rather than continue a
    ///     prompt), so the space SentencePiece puts before a text is taken off.
    public init(tokenizer: Tokenizer, renderSpecialTokens: Bool = false, atStartOfText: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecialTokens = renderSpecialTokens
        self.removeLeadingSpace = atStartOfText && tokenizer.vocabulary.addSpacePrefix
    }

    /// Adds one token; returns the text that is now complete (possibly empty).
    public mutating func append(_ token: Int) -> String {
        pending.append(
            contentsOf: tokenizer.piece(
                token, renderSpecialTokens: renderSpecialTokens, removingLeadingSpace: &removeLeadingSpace))
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Ends the stream: returns whatever was held back (an unfinished character as U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing UTF-8 sequence that has begun
    /// but may still be completed by later bytes.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // A sequence is at most 4 bytes: look back at most 3 for its lead byte.
        var index = bytes.count - 1
        while index >= 0 && index >= bytes.count - 4 {
            let byte = bytes[index]
            if byte & 0xC0 != 0x80 {  // not a continuation byte
                let needed = SentencePieceEncoder.sequenceLength(leadByte: byte)
                return bytes.count - index < needed ? index : bytes.count
            }
            index -= 1
        }
        return bytes.count
    }
}
