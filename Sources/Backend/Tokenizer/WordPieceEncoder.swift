import Foundation

/// WordPiece (`tokenizer.ggml.model = "bert"`), as llama.cpp runs it for
/// BERT-family embedding models.
///
/// Text is first split into words the way BERT's basic tokenizer does:
/// whitespace separates words, control characters (and U+FFFD) are dropped,
/// with ``TokenizerVocabulary/lowercase`` letters are lowercased and with
/// ``TokenizerVocabulary/stripAccents`` the text is decomposed (NFD) and its
/// combining marks dropped; every punctuation character, ASCII symbol and
/// CJK ideograph is a word of its own. Each word is then covered greedily,
/// longest match first, by vocabulary tokens.
///
/// GGUF stores the vocabulary as llama.cpp's converter rewrote it: a token
/// that starts a word carries a leading `▁` (U+2581) and a continuation
/// (`##ing` in the original) is stored bare. So the word is matched as
/// `▁word`, and a word no sequence of tokens covers becomes one unknown token.
struct WordPieceEncoder: Sendable {
    private let ids: [String: Int]
    /// The longest token, in UTF-8 bytes: no match is tried beyond it.
    private let longestToken: Int
    private let unknownTokenID: Int?
    private let lowercase: Bool
    private let stripAccents: Bool

    init(vocabulary: TokenizerVocabulary) {
        var ids: [String: Int] = [:]
        ids.reserveCapacity(vocabulary.tokens.count)
        var longest = 0
        for (id, text) in vocabulary.tokens.enumerated() {
            // The first of two equal texts wins, as in llama.cpp's lookup table.
            if ids[text] == nil { ids[text] = id }
            longest = max(longest, text.utf8.count)
        }
        self.ids = ids
        longestToken = longest
        unknownTokenID = vocabulary.unknownTokenID
        lowercase = vocabulary.lowercase
        stripAccents = vocabulary.stripAccents
    }

    /// Appends the tokens of `text` to `output`.
    func encode(_ text: String, into output: inout [Int]) {
        for word in words(of: text) {
            let bytes = Array(Tokenizer.spaceMark) + Array(word.utf8)
            let before = output.count
            var start = 0
            while start < bytes.count {
                var end = min(bytes.count, start + longestToken)
                var found: Int?
                while end > start {
                    if let text = String(validating: bytes[start..<end], as: UTF8.self), let id = ids[text] {
                        found = id
                        break
                    }
                    end -= 1
                }
                guard let found else {
                    // Part of the word has no token: the whole word is unknown.
                    output.removeSubrange(before...)
                    break
                }
                output.append(found)
                start = end
            }
            if output.count == before, let unknownTokenID { output.append(unknownTokenID) }
        }
    }

    /// BERT's basic pre-tokenization of `text` (see the type's description).
    func words(of text: String) -> [String] {
        let source = stripAccents ? text.decomposedStringWithCanonicalMapping : text
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func finishWord() {
            if !current.isEmpty { words.append(String(current)) }
            current = String.UnicodeScalarView()
        }
        for scalar in source.unicodeScalars {
            let properties = scalar.properties
            if properties.isWhitespace {
                finishWord()
                continue
            }
            let category = properties.generalCategory
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(category) { continue }
            if stripAccents && Self.isMark(category) { continue }
            let character = lowercase ? Self.lowercased(scalar) : scalar
            if Self.isPunctuation(category) || (scalar.value < 0x7F && Self.isSymbol(category)) || Self.isCJK(scalar.value) {
                finishWord()
                current.append(character)
                finishWord()
            } else {
                current.append(character)
            }
        }
        finishWord()
        return words
    }

    /// The simple (one-scalar) lowercase of `scalar`, as llama.cpp's table
    /// has it: the first scalar of Unicode's full mapping (`İ` → `i`).
    private static func lowercased(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        scalar.properties.lowercaseMapping.unicodeScalars.first ?? scalar
    }

    private static func isControl(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .control, .format, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    private static func isMark(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    private static func isPunctuation(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            true
        default: false
        }
    }

    private static func isSymbol(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: true
        default: false
        }
    }

    /// The CJK ideograph blocks BERT splits into single characters (the
    /// ranges of Hugging Face's tokenizer, which llama.cpp copies).
    private static func isCJK(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value) || (0x20000...0x2A6DF).contains(value)
            || (0x2A700...0x2B73F).contains(value) || (0x2B740...0x2B81F).contains(value)
            || (0x2B920...0x2CEAF).contains(value) || (0xF900...0xFAFF).contains(value)
            || (0x2F800...0x2FA1F).contains(value)
    }
}
