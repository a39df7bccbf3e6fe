/// Matches an array after its `[`: items (pushed as child frames) between
/// `minItems` and `maxItems`, `,` and `]`.
struct ArrayFrame: Hashable, Sendable {
    enum Phase: UInt8, Hashable, Sendable { case open, afterItem }

    var phase = Phase.open
    var whitespace = 0
    var count = 0

    /// The outcome of one byte.
    enum Outcome { case rejected, consumed, closed, openItem(consumed: Bool) }

    mutating func advance(_ byte: UInt8, minItems: Int, maxItems: Int) -> Outcome {
        if GrammarState.isWhitespace(byte) {
            whitespace += 1
            return whitespace <= GrammarState.maximumWhitespace ? .consumed : .rejected
        }
        whitespace = 0
        switch (phase, byte) {
        case (.open, UInt8(ascii: "]")), (.afterItem, UInt8(ascii: "]")):
            return count >= minItems ? .closed : .rejected
        case (.afterItem, UInt8(ascii: ",")):
            guard count < maxItems else { return .rejected }
            count += 1
            return .openItem(consumed: true)
        case (.open, _):
            guard maxItems > 0 else { return .rejected }
            count = 1
            phase = .afterItem
            return .openItem(consumed: false)
        default:
            return .rejected
        }
    }
}
