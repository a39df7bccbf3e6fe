extension TokenizerVocabulary {
    /// Reads the vocabulary from a GGUF file's `tokenizer.ggml.*` metadata,
    /// with llama.cpp's defaults for keys the file leaves out.
    ///
    /// Throws ``GGUFError`` for a value of the wrong type, and
    /// ``TokenizerError`` for a tokenizer lmgate does not implement.
    public init(gguf file: GGUFFile) throws {
        try self.init(metadata: file.metadata)
    }

    /// Reads the vocabulary from GGUF metadata; see ``init(gguf:)``.
    public init(metadata: GGUFMetadata) throws {
        let modelName = try metadata.string("tokenizer.ggml.model")
        guard let modelName else {
            throw TokenizerError(.missingVocabulary, "the file has no tokenizer (tokenizer.ggml.model is missing)")
        }
        guard let model = TokenizerModel(rawValue: modelName) else {
            throw TokenizerError(.unsupportedModel, "tokenizer model '\(modelName)' is not supported")
        }
        var preTokenizer = PreTokenizerKind.default
        if model == .bytePair {
            let preName = try metadata.string("tokenizer.ggml.pre")
            guard let kind = PreTokenizerKind(ggufName: preName) else {
                throw TokenizerError(
                    .unsupportedPreTokenizer, "pre-tokenizer '\(preName ?? "")' is not supported")
            }
            preTokenizer = kind
        }
        guard let tokens = try metadata.stringArray("tokenizer.ggml.tokens"), !tokens.isEmpty else {
            throw TokenizerError(.missingVocabulary, "tokenizer.ggml.tokens is missing or empty")
        }
        self.init(
            model: model,
            preTokenizer: preTokenizer,
            tokens: tokens,
            scores: try metadata.float32Array("tokenizer.ggml.scores") ?? [],
            tokenTypes: (try metadata.int32Array("tokenizer.ggml.token_type") ?? []).map(TokenType.init(stored:)),
            merges: try metadata.stringArray("tokenizer.ggml.merges") ?? [])

        let specialIDs: [(String, WritableKeyPath<TokenizerVocabulary, Int?>)] = [
            ("tokenizer.ggml.bos_token_id", \.bosTokenID),
            ("tokenizer.ggml.eos_token_id", \.eosTokenID),
            ("tokenizer.ggml.unknown_token_id", \.unknownTokenID),
            ("tokenizer.ggml.padding_token_id", \.paddingTokenID),
            // BERT names its first and last tokens CLS and SEP (sic: llama.cpp's key spelling).
            ("tokenizer.ggml.cls_token_id", \.bosTokenID),
            ("tokenizer.ggml.seperator_token_id", \.eosTokenID),
        ]
        for (key, keyPath) in specialIDs {
            guard let id = try metadata.integer(key) else { continue }
            // llama.cpp keeps its default for an id outside the vocabulary; so do we.
            if id >= 0 && id < tokens.count { self[keyPath: keyPath] = id }
        }
        collectEndOfGenerationTokens(others: [
            try metadata.integer("tokenizer.ggml.eot_token_id"), try metadata.integer("tokenizer.ggml.eom_token_id"),
        ])
        if let value = try metadata.bool("tokenizer.ggml.add_bos_token") { addBOS = value }
        if let value = try metadata.bool("tokenizer.ggml.add_eos_token") { addEOS = value }
        if let value = try metadata.bool("tokenizer.ggml.add_space_prefix") { addSpacePrefix = value }
        if let value = try metadata.bool("tokenizer.ggml.normalizer.lowercase") { lowercase = value; stripAccents = value }
        if let value = try metadata.bool("tokenizer.ggml.normalizer.strip_accents") { stripAccents = value }

        // llama.cpp gives Phi-3's special tokens the `rstrip` attribute of the
        // original tokenizer by model name, since GGUF has no key for it.
        let name = (try metadata.string("general.name") ?? "").lowercased()
        if name.contains("phi-3") || name.contains("phi3") {
            for (id, text) in tokens.enumerated() where type(of: id).isMatchedInText || text == "</s>" {
                if !["<unk>", "<s>", "<|endoftext|>"].contains(text) { stripsWhitespaceAfter.insert(id) }
            }
        }
    }
}
