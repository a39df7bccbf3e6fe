/// Matches a JSON number against a ``NumberRule``, deciding at each digit
/// whether some continuation can still land within the bounds, so that the
/// matcher never walks into a number it cannot finish.
struct NumberFrame: Hashable, Sendable {
    enum Phase: UInt8, Hashable, Sendable {
        case start, afterMinus, afterZero, integer, afterPoint, fraction, afterExponent, afterExponentSign, exponent
    }

    var phase = Phase.start
    var negative = false
    /// The integer part's magnitude and digit count.
    var magnitude: Int64 = 0
    var digits = 0
    /// Digits after the point, or in the exponent.
    var laterDigits = 0

    /// The outcome of one byte.
    enum Outcome { case rejected, consumed, ended }

    static let maximumFractionDigits = 16
    static let maximumExponentDigits = 2

    /// Whether the number may end here.
    func canEnd(_ rule: NumberRule) -> Bool {
        switch phase {
        case .afterZero, .integer: return rule.contains(integer: negative ? -magnitude : magnitude)
        case .fraction, .exponent: return true
        default: return false
        }
    }

    mutating func advance(_ byte: UInt8, _ rule: NumberRule) -> Outcome {
        if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            return advance(digit: Int64(byte - UInt8(ascii: "0")), rule)
        }
        switch (phase, byte) {
        case (.start, UInt8(ascii: "-")):
            guard rule.lowest < 0 else { return .rejected }
            negative = true
            phase = .afterMinus
            return .consumed
        case (.afterZero, UInt8(ascii: ".")), (.integer, UInt8(ascii: ".")):
            guard rule.allowsFraction(afterNegative: negative, magnitude: magnitude) else { return .rejected }
            phase = .afterPoint
            return .consumed
        case (.afterZero, UInt8(ascii: "e")), (.afterZero, UInt8(ascii: "E")), (.integer, UInt8(ascii: "e")),
            (.integer, UInt8(ascii: "E")), (.fraction, UInt8(ascii: "e")), (.fraction, UInt8(ascii: "E")):
            guard rule.allowsFraction && !rule.isBounded else { return .rejected }
            phase = .afterExponent
            laterDigits = 0
            return .consumed
        case (.afterExponent, UInt8(ascii: "-")), (.afterExponent, UInt8(ascii: "+")):
            phase = .afterExponentSign
            return .consumed
        default:
            return canEnd(rule) ? .ended : .rejected
        }
    }

    private mutating func advance(digit: Int64, _ rule: NumberRule) -> Outcome {
        switch phase {
        case .start, .afterMinus, .integer:
            let value = magnitude * 10 + digit
            guard digits < 18, rule.integerPartCanReach(negative: negative, magnitude: value, digits: digits + 1) else {
                return .rejected
            }
            magnitude = value
            digits += 1
            phase = value == 0 ? .afterZero : .integer
        case .afterPoint, .fraction:
            guard laterDigits < Self.maximumFractionDigits else { return .rejected }
            laterDigits += 1
            phase = .fraction
        case .afterExponent, .afterExponentSign, .exponent:
            guard laterDigits < Self.maximumExponentDigits else { return .rejected }
            laterDigits += 1
            phase = .exponent
        case .afterZero:
            return .rejected  // JSON has no leading zeros
        }
        return .consumed
    }
}

extension NumberRule {
    func contains(integer value: Int64) -> Bool { value >= lowest && value <= highest }

    /// Whether an integer part starting with `magnitude` (of `digits` digits)
    /// can still end within bounds, as it is or with more digits.
    func integerPartCanReach(negative: Bool, magnitude: Int64, digits: Int) -> Bool {
        var scale: Int64 = 1
        for extra in 0...(18 - digits) {
            if extra > 0 && magnitude == 0 { return false }  // no digits after a leading zero
            let low = magnitude * scale, high = low + scale - 1
            let (from, to) = negative ? (-high, -low) : (low, high)
            if from <= highest && to >= lowest { return true }
            if extra < 18 - digits { scale *= 10 }
        }
        return false
    }

    /// Whether a fraction may follow this integer part: every number it
    /// can make (between the integer part and the next integer away from
    /// zero) must be within bounds.
    func allowsFraction(afterNegative negative: Bool, magnitude: Int64) -> Bool {
        guard allowsFraction else { return false }
        guard contains(integer: negative ? -magnitude : magnitude) else { return false }
        return negative ? -(Double(magnitude) + 1) >= lowerBound : Double(magnitude) + 1 <= upperBound
    }
}
