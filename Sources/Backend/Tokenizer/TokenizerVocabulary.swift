/// Everything a ``Tokenizer`` is built from: the vocabulary and flags a GGUF
/// file stores under `tokenizer.ggml.*`, as a plain value.
///
/// Build one by hand (tests do) or read it with ``init(gguf:)``.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// The tokenization algorithm.
    public var model: TokenizerModel
    /// How byte-level BPE splits text into words (unused by SentencePiece).
    public var preTokenizer: PreTokenizerKind
    /// The text of each token, indexed by token id, exactly as GGUF stores it
    /// (SentencePiece: `▁` for spaces; byte-level BPE: bytes mapped to printable characters).
    public var tokens: [String]
    /// SentencePiece merge priority of each token (higher merges first); may be empty.
    public var scores: [Float]
    /// The kind of each token; may be empty (then every token is ``TokenType/normal``).
    public var tokenTypes: [TokenType]
    /// BPE merges in priority order, each `"left right"` as GGUF stores them.
    public var merges: [String]
    /// Beginning-of-sequence token.
    public var bosTokenID: Int?
    /// End-of-sequence token.
    public var eosTokenID: Int?
    /// Token for text the vocabulary cannot express.
    public var unknownTokenID: Int?
    /// Padding token.
    public var paddingTokenID: Int?
    /// Whether ``Tokenizer/encode(_:addSpecialTokens:parseSpecialTokens:)`` puts BOS first.
    public var addBOS: Bool
    /// Whether it puts EOS last.
    public var addEOS: Bool
    /// SentencePiece: whether a space is put before text that starts the
    /// input or follows a special token (and taken off again when decoding).
    public var addSpacePrefix: Bool
    /// Byte-level BPE: whether a word that is itself a token skips the merges (Llama 3).
    public var ignoreMerges: Bool
    /// Tokens that end a generation: EOS, and the end-of-turn tokens
    /// (`<|im_end|>`, `<|eot_id|>`, …) that chat models emit instead. The
    /// initializers fill it as llama.cpp does; see ``endOfTurnTexts``.
    public var endOfGenerationTokenIDs: Set<Int>
    /// WordPiece: whether text is lowercased before matching (`tokenizer.ggml.normalizer.lowercase`).
    public var lowercase = true
    /// WordPiece: whether accents are stripped (NFD, marks dropped); by default as ``lowercase``.
    public var stripAccents = true
    /// Tokens that swallow the whitespace before them when matched in text.
    public var stripsWhitespaceBefore: Set<Int>
    /// Tokens that swallow the whitespace after them when matched in text.
    public var stripsWhitespaceAfter: Set<Int>

    /// A vocabulary with the defaults llama.cpp uses for `model` and `preTokenizer`
    /// when the metadata says nothing else.
    public init(
        model: TokenizerModel,
        preTokenizer: PreTokenizerKind = .default,
        tokens: [String],
        scores: [Float] = [],
        tokenTypes: [TokenType] = [],
        merges: [String] = []
    ) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.stripsWhitespaceBefore = []
        self.stripsWhitespaceAfter = []
        self.endOfGenerationTokenIDs = []
        switch model {
        case .sentencePiece:
            bosTokenID = 1
            eosTokenID = 2
            unknownTokenID = 0
            paddingTokenID = nil
            addBOS = true
            addEOS = false
            addSpacePrefix = true
            ignoreMerges = false
        case .bytePair:
            // llama.cpp's defaults for BPE files that name no special tokens.
            bosTokenID = 11
            eosTokenID = 11
            unknownTokenID = nil
            paddingTokenID = nil
            // llama.cpp's settings by pre-tokenizer: Llama 3 and Tekken files
            // start with BOS and take a word that is a token whole.
            addBOS = preTokenizer == .llama3 || preTokenizer == .tekken
            addEOS = false
            addSpacePrefix = false
            ignoreMerges = preTokenizer == .llama3 || preTokenizer == .tekken
        case .wordPiece:
            // llama.cpp's defaults for BERT: [CLS] text [SEP], [UNK] 100.
            bosTokenID = 101
            eosTokenID = 102
            unknownTokenID = 100
            paddingTokenID = 0
            addBOS = true
            addEOS = true
            addSpacePrefix = false
            ignoreMerges = false
        }
        // Defaults that point past a small hand-made vocabulary mean "none".
        for keyPath in [\Self.bosTokenID, \Self.eosTokenID, \Self.unknownTokenID, \Self.paddingTokenID] {
            if let id = self[keyPath: keyPath], id >= tokens.count { self[keyPath: keyPath] = nil }
        }
        collectEndOfGenerationTokens()
    }

    /// Token texts llama.cpp treats as ending a generation whatever the
    /// metadata says (GGUF files often name only EOS, and chat models end a
    /// turn with another token).
    public static let endOfTurnTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
        "<|end_of_text|>",
    ]

    /// Sets ``endOfGenerationTokenIDs`` to EOS, `others` (the metadata's EOT
    /// and EOM) and the tokens named in ``endOfTurnTexts``; the latter become
    /// control tokens (rendered only on request), as llama.cpp makes them.
    mutating func collectEndOfGenerationTokens(others: [Int?] = []) {
        endOfGenerationTokenIDs = []
        for id in [eosTokenID] + others {
            if let id, id >= 0, id < tokens.count { endOfGenerationTokenIDs.insert(id) }
        }
        for (id, text) in tokens.enumerated() where Self.endOfTurnTexts.contains(text) {
            endOfGenerationTokenIDs.insert(id)
            if id < tokenTypes.count { tokenTypes[id] = .control }
        }
    }

    /// The kind of token `id` (``TokenType/normal`` when no types are stored).
    func type(of id: Int) -> TokenType {
        id < tokenTypes.count ? tokenTypes[id] : .normal
    }

    /// Checks that the arrays agree in length and the special ids exist.
    func validate() throws(TokenizerError) {
        guard !tokens.isEmpty else {
            throw TokenizerError(.missingVocabulary, "the token list is empty")
        }
        if !scores.isEmpty && scores.count != tokens.count {
            throw TokenizerError(
                .inconsistentVocabulary, "\(scores.count) scores for \(tokens.count) tokens")
        }
        if !tokenTypes.isEmpty && tokenTypes.count != tokens.count {
            throw TokenizerError(
                .inconsistentVocabulary, "\(tokenTypes.count) token types for \(tokens.count) tokens")
        }
        if model == .bytePair && merges.isEmpty {
            throw TokenizerError(.missingVocabulary, "a BPE vocabulary needs merges")
        }
        let special: [(String, Int?)] = [
            ("BOS", bosTokenID), ("EOS", eosTokenID), ("unknown", unknownTokenID), ("padding", paddingTokenID),
        ]
        for (name, id) in special {
            if let id, id < 0 || id >= tokens.count {
                throw TokenizerError(
                    .invalidSpecialToken, "\(name) token id \(id) is outside the \(tokens.count)-token vocabulary")
            }
        }
        if addBOS && bosTokenID == nil {
            throw TokenizerError(.invalidSpecialToken, "BOS is to be added but no BOS token is set")
        }
        if addEOS && eosTokenID == nil {
            throw TokenizerError(.invalidSpecialToken, "EOS is to be added but no EOS token is set")
        }
    }
}
