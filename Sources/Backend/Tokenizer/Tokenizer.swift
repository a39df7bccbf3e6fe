/// Turns text into token ids and token ids back into text, the way llama.cpp
/// does for the model's vocabulary.
///
/// Build it once per model (it indexes the vocabulary and the merges); it is
/// an immutable value, safe to share between requests.
///
/// ```swift
/// let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
/// let ids = tokenizer.encode("Hello world")          // BOS added if the model wants it
/// let text = tokenizer.decode(ids)                   // "Hello world"
/// ```
public struct Tokenizer: Sendable {
    /// The vocabulary this tokenizer was built from.
    public let vocabulary: TokenizerVocabulary

    private enum Encoder: Sendable {
        case sentencePiece(SentencePieceEncoder)
        case bytePair(BytePairEncoder)
        case wordPiece(WordPieceEncoder)
    }

    private let encoder: Encoder
    private let specialTokens: SpecialTokenMatcher
    /// Each token's bytes as it is written out when special tokens are shown.
    private let pieces: ByteStringTable

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { vocabulary.tokens.count }

    /// Builds the tokenizer; throws ``TokenizerError`` when the vocabulary is inconsistent.
    public init(_ vocabulary: TokenizerVocabulary) throws(TokenizerError) {
        try vocabulary.validate()
        self.vocabulary = vocabulary
        let tokens = ByteStringTable(vocabulary.tokens.lazy.map { Array($0.utf8) })
        switch vocabulary.model {
        case .sentencePiece:
            encoder = .sentencePiece(SentencePieceEncoder(vocabulary: vocabulary, tokens: tokens))
        case .bytePair:
            encoder = .bytePair(BytePairEncoder(vocabulary: vocabulary, tokens: tokens))
        case .wordPiece:
            encoder = .wordPiece(WordPieceEncoder(vocabulary: vocabulary))
        }
        specialTokens = SpecialTokenMatcher(vocabulary: vocabulary)
        pieces = ByteStringTable(
            vocabulary.tokens.indices.lazy.map { Self.piece(of: $0, in: vocabulary) })
    }

    /// Whether generating `id` ends the generation (EOS or an end-of-turn token).
    public func isEndOfGeneration(_ id: Int) -> Bool {
        vocabulary.endOfGenerationTokenIDs.contains(id)
    }

    // MARK: - Encoding

    /// The token ids of `text`.
    ///
    /// - Parameters:
    ///   - addSpecialTokens: add BOS and EOS where the vocabulary says so.
    ///   - parseSpecialTokens: match control tokens (`<|im_start|>`) written in
    ///     the text; leave off for text a user sent, so that it cannot forge them.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecialTokens: Bool = false) -> [Int] {
        encode(Array(text.utf8), addSpecialTokens: addSpecialTokens, parseSpecialTokens: parseSpecialTokens, protected: [])
    }

    /// `text` with every control token's text wrapped in markers (see
    /// ``RequestTextMarking``): how a request's strings go into a chat template,
    /// so that ``encode(renderedTemplate:addSpecialTokens:)`` keeps them text.
    public func markingControlTokenText(in text: String) -> String {
        RequestTextMarking.mark(text, matcher: specialTokens)
    }

    /// The token ids of a chat template's output: control tokens are parsed
    /// (the template's markup), except inside the spans that
    /// ``markingControlTokenText(in:)`` marked in the request's strings, which
    /// are tokenized as text; the markers themselves are dropped.
    public func encode(renderedTemplate text: String, addSpecialTokens: Bool = true) -> [Int] {
        let (bytes, protected) = RequestTextMarking.unmark(Array(text.utf8))
        return encode(bytes, addSpecialTokens: addSpecialTokens, parseSpecialTokens: true, protected: protected)
    }

    private func encode(_ bytes: [UInt8], addSpecialTokens: Bool, parseSpecialTokens: Bool, protected: [Range<Int>]) -> [Int] {
        var output: [Int] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecialTokens && vocabulary.addBOS, let bos = vocabulary.bosTokenID {
            output.append(bos)
        }
        // SentencePiece puts a space before text that starts the input or follows a special token.
        var afterSpecialToken = true
        var escaped: [UInt8] = []
        for fragment in specialTokens.fragments(of: bytes, parseSpecial: parseSpecialTokens, protected: protected) {
            switch fragment {
            case .token(let id):
                output.append(id)
                afterSpecialToken = true
            case .text(let range):
                switch encoder {
                case .sentencePiece(let sentencePiece):
                    escaped.removeAll(keepingCapacity: true)
                    if vocabulary.addSpacePrefix && afterSpecialToken { escaped.append(contentsOf: Self.spaceMark) }
                    for byte in bytes[range] {
                        if byte == UInt8(ascii: " ") { escaped.append(contentsOf: Self.spaceMark) } else { escaped.append(byte) }
                    }
                    escaped.withUnsafeBufferPointer { sentencePiece.encode($0, into: &output) }
                case .bytePair(let bytePair):
                    bytes.withUnsafeBufferPointer { bytePair.encode(UnsafeBufferPointer(rebasing: $0[range]), into: &output) }
                case .wordPiece(let wordPiece):
                    wordPiece.encode(String(decoding: bytes[range], as: UTF8.self), into: &output)
                }
                afterSpecialToken = false
            }
        }
        if addSpecialTokens && vocabulary.addEOS, let eos = vocabulary.eosTokenID {
            output.append(eos)
        }
        return output
    }

    // MARK: - Decoding

    /// The bytes token `id` stands for. Control and unknown tokens give
    /// nothing unless `renderSpecialTokens`; an id outside the vocabulary gives nothing.
    public func pieceBytes(_ id: Int, renderSpecialTokens: Bool = false) -> ArraySlice<UInt8> {
        guard id >= 0, id < vocabularySize else { return [] }
        if !renderSpecialTokens {
            let type = vocabulary.type(of: id)
            if type == .control || type == .unknown { return [] }
        }
        return pieces[id]
    }

    /// The bytes of a token sequence, with the space SentencePiece put before
    /// the text taken off the first text token again.
    public func decodeBytes(_ ids: [Int], renderSpecialTokens: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        var removeLeadingSpace = vocabulary.addSpacePrefix
        for id in ids {
            bytes.append(
                contentsOf: piece(id, renderSpecialTokens: renderSpecialTokens, removingLeadingSpace: &removeLeadingSpace))
        }
        return bytes
    }

    /// ``pieceBytes(_:renderSpecialTokens:)``, less one leading space if
    /// `removingLeadingSpace` is set; the flag is cleared by the first token
    /// that is not a control token (so a BOS before the text does not use it up).
    func piece(_ id: Int, renderSpecialTokens: Bool, removingLeadingSpace: inout Bool) -> ArraySlice<UInt8> {
        var piece = pieceBytes(id, renderSpecialTokens: renderSpecialTokens)
        if removingLeadingSpace && !(id >= 0 && id < vocabularySize && vocabulary.type(of: id) == .control) {
            if piece.first == UInt8(ascii: " ") { piece = piece.dropFirst() }
            removingLeadingSpace = false
        }
        return piece
    }

    /// The text of a token sequence (bytes that are not valid UTF-8 become U+FFFD).
    public func decode(_ ids: [Int], renderSpecialTokens: Bool = false) -> String {
        String(decoding: decodeBytes(ids, renderSpecialTokens: renderSpecialTokens), as: UTF8.self)
    }

    /// `▁` (U+2581), SentencePiece's visible space.
    static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]

    /// What token `id` is written as when special tokens are shown.
    private static func piece(of id: Int, in vocabulary: TokenizerVocabulary) -> [UInt8] {
        let text = vocabulary.tokens[id]
        switch vocabulary.type(of: id) {
        case .control, .unknown, .userDefined:
            return Array(text.utf8)
        case .normal:
            switch vocabulary.model {
            case .sentencePiece, .wordPiece: return unescapeSpaces(Array(text.utf8))
            case .bytePair: return ByteLevelEncoding.decode(text)
            }
        case .byte:
            // `<0xNN>`; only SentencePiece vocabularies have byte tokens.
            let utf8 = Array(text.utf8)
            guard vocabulary.model == .sentencePiece, utf8.count == 6,
                let value = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
            else { return [] }
            return [value]
        case .unused, .undefined:
            return []
        }
    }

    private static func unescapeSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + 3 <= bytes.count && bytes[index..<index + 3].elementsEqual(spaceMark) {
                result.append(UInt8(ascii: " "))
                index += 3
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }
}
