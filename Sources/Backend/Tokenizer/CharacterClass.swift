/// The Unicode classes the pre-tokenizer expressions test: `\p{L}`, `\p{N}`,
/// `\s` and `\p{P}`.
struct CharacterClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    static let letter = CharacterClass(rawValue: 1 << 0)
    /// `\p{N}`: general category Nd, Nl or No.
    static let number = CharacterClass(rawValue: 1 << 1)
    /// `\s`: the Unicode White_Space property.
    static let whitespace = CharacterClass(rawValue: 1 << 2)
    /// `\p{P}`: general category Pc, Pd, Ps, Pe, Pi, Pf or Po.
    static let punctuation = CharacterClass(rawValue: 1 << 3)

    /// The classes of `scalar`.
    static func of(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar.value < 128 { return ascii[Int(scalar.value)] }
        return classify(scalar)
    }

    /// Most text is ASCII: its classes are computed once.
    private static let ascii: [CharacterClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    private static func classify(_ scalar: Unicode.Scalar) -> CharacterClass {
        let properties = scalar.properties
        var result: CharacterClass = []
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            result.insert(.punctuation)
        default:
            break
        }
        if properties.isWhitespace { result.insert(.whitespace) }
        return result
    }
}
