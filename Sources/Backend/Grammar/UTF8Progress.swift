/// Where a string stands in the UTF-8 encoding of its current character, so
/// that only well-formed UTF-8 is accepted (no overlong forms, surrogates or
/// code points past U+10FFFF), whichever tokens split the bytes.
struct UTF8Progress: Hashable, Sendable {
    /// Continuation bytes still to come.
    private var remaining: UInt8 = 0
    /// The range the next continuation byte must fall in.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// Whether the last character is complete.
    var isComplete: Bool { remaining == 0 }

    /// What a byte does to the encoding.
    enum Effect { case invalid, startsCharacter, continuesCharacter }

    /// Accepts `byte` (a non-ASCII byte, or any byte when a character is open).
    mutating func accept(_ byte: UInt8) -> Effect {
        if remaining > 0 {
            guard byte >= lower && byte <= upper else { return .invalid }
            remaining -= 1
            lower = 0x80
            upper = 0xBF
            return .continuesCharacter
        }
        switch byte {
        case 0x00...0x7F: return .startsCharacter
        case 0xC2...0xDF: remaining = 1
        case 0xE0: remaining = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: remaining = 2
        case 0xED: remaining = 2; upper = 0x9F
        case 0xF0: remaining = 3; lower = 0x90
        case 0xF1...0xF3: remaining = 3
        case 0xF4: remaining = 3; upper = 0x8F
        default: return .invalid
        }
        return .startsCharacter
    }
}
