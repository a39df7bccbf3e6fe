import Testing

@testable import Backend

/// The hand-written pre-tokenizer scanners against Swift's own `Regex`
/// engine running the models' expressions (Unicode-scalar semantics), on
/// random text drawn from characters that exercise every rule.
@Suite struct TokenizerPreTokenizerTests {
    static let llama3 =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2 =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// llama.cpp's rewrite of Tekken's expression for `std::regex`, which
    /// lmgate follows (`[^a-z]`/`[^A-Z]` for Tekken's `\p{Lu}`/`\p{Ll}` classes).
    static let tekken =
        #"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// llama.cpp's two stages for `smollm`: each number character alone, then
    /// GPT-2's expression without its final `|\s+`.
    static let smollmStages = [#"\p{N}"#, #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#]
    static let defaultStages = [#"[\p{P}\$\+<=>\^~\|]+"#, gpt2, #"\p{N}+"#, "[0-9][0-9][0-9]"]

    /// Letters (Latin, accented, Cyrillic, CJK), the contraction letters in
    /// both cases, digits and other numbers (Arabic-Indic, superscript, Roman
    /// numeral), spaces of several kinds, line breaks, punctuation and
    /// symbols, a combining mark, a zero-width joiner and emoji.
    static let alphabet: [String] = [
        "a", "Z", "é", "ß", "ж", "Я", "日", "本", "s", "S", "t", "T", "r", "R", "e", "E", "v", "V", "l", "L",
        "m", "M", "d", "D", "0", "7", "9", "٣", "²", "Ⅷ", " ", " ", " ", "\t", "\n", "\r", "\u{A0}", "\u{3000}",
        "'", "'", "!", ",", ".", "-", "(", "$", "+", "<", "=", "^", "~", "|", "€", "\u{301}", "\u{200D}",
        "🦙", "😁", "～", "/", "É", "Ǆ", "ǅ", "ʰ",
    ]

    static func randomTexts() -> [String] {
        var random = SeededRandom(seed: 0x70_6b_65_6e)
        return (0..<400).map { _ in
            let length = Int.random(in: 0...24, using: &random)
            return (0..<length).map { _ in alphabet.randomElement(using: &random)! }.joined()
        }
    }

    /// Cuts `pieces` by the successive matches of `pattern`, keeping the
    /// text between matches as pieces too (what llama.cpp does).
    static func regexSplit(_ pieces: [Substring.UnicodeScalarView], _ pattern: String) throws -> [Substring.UnicodeScalarView] {
        let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
        var result: [Substring.UnicodeScalarView] = []
        for piece in pieces {
            let text = Substring(piece)
            var last = text.startIndex
            for match in text.matches(of: regex) {
                if last < match.range.lowerBound { result.append(text[last..<match.range.lowerBound].unicodeScalars) }
                result.append(text[match.range].unicodeScalars)
                last = match.range.upperBound
            }
            if last < text.endIndex { result.append(text[last...].unicodeScalars) }
        }
        return result
    }

    static func scannerSplit(_ text: String, _ kind: PreTokenizerKind) -> [String] {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            PreTokenizer(kind: kind).split(buffer).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    @Test(arguments: [
        (PreTokenizerKind.llama3, [llama3]), (.qwen2, [qwen2]), (.gpt2, [gpt2]), (.smollm, smollmStages), (.default, defaultStages),
        (.tekken, [tekken]),
    ])
    func scannerSplitsAsTheRegularExpressionDoes(kind: PreTokenizerKind, stages: [String]) throws {
        for text in Self.randomTexts() {
            var pieces = [Substring(text).unicodeScalars]
            for stage in stages { pieces = try Self.regexSplit(pieces, stage) }
            let expected = pieces.map { String(Substring($0)) }
            #expect(Self.scannerSplit(text, kind) == expected, "\(kind) \(text.debugDescription)")
        }
    }

    @Test func llama3KeepsNewlinesWithTheWhitespaceBeforeThem() {
        #expect(Self.scannerSplit("a  \n\n  b", .llama3) == ["a", "  \n\n", " ", " b"])
        #expect(Self.scannerSplit("x'LL 12345", .llama3) == ["x", "'LL", " ", "123", "45"])
        #expect(Self.scannerSplit("x'LL 12345", .gpt2) == ["x", "'", "LL", " 12345"])
        #expect(Self.scannerSplit("x'LL 12345", .qwen2) == ["x", "'LL", " ", "1", "2", "3", "4", "5"])
        #expect(Self.scannerSplit("x'LL 12345 a1b", .smollm) == ["x", "'", "LL", " ", "1", "2", "3", "4", "5", " a", "1", "b"])
    }
}
