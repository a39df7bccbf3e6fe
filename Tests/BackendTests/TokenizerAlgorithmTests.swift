import Testing

@testable import Backend

/// The algorithms on small hand-made vocabularies, where the expected
/// tokens follow from the rules by hand.
@Suite struct TokenizerAlgorithmTests {
    /// `<unk> <s> </s>`, all 256 byte tokens, then `pieces` with their scores.
    static func sentencePiece(_ pieces: [(String, Float)]) throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        for byte in 0..<256 {
            tokens.append("<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">")
            types.append(.byte)
        }
        tokens += pieces.map(\.0)
        types += pieces.map { _ in .normal }
        let scores = [Float](repeating: 0, count: 259) + pieces.map(\.1)
        return try Tokenizer(
            TokenizerVocabulary(model: .sentencePiece, tokens: tokens, scores: scores, tokenTypes: types))
    }

    static func id(_ tokenizer: Tokenizer, _ text: String) throws -> Int {
        try #require(tokenizer.vocabulary.tokens.firstIndex(of: text))
    }

    @Test func sentencePieceJoinsTheHighestScoringPairFirst() throws {
        let tokenizer = try Self.sentencePiece([("▁", -1), ("a", -1), ("b", -1), ("c", -1), ("ab", -3), ("bc", -2)])
        // "abc" with a space prefix: ▁ a b c. "bc" outscores "ab", and nothing joins ▁.
        let ids = tokenizer.encode("abc", addSpecialTokens: false)
        #expect(ids == [try Self.id(tokenizer, "▁"), try Self.id(tokenizer, "a"), try Self.id(tokenizer, "bc")])
    }

    @Test func sentencePieceBreaksTiesToTheLeft() throws {
        let tokenizer = try Self.sentencePiece([("a", -1), ("aa", -2)])
        var vocabulary = tokenizer.vocabulary
        vocabulary.addSpacePrefix = false
        let ids = try Tokenizer(vocabulary).encode("aaa", addSpecialTokens: false)
        #expect(ids == [try Self.id(tokenizer, "aa"), try Self.id(tokenizer, "a")])
    }

    @Test func sentencePieceSpellsUnknownCharactersInByteTokens() throws {
        let tokenizer = try Self.sentencePiece([("▁", -1), ("x", -1)])
        let ids = tokenizer.encode("xé", addSpecialTokens: false)
        #expect(
            ids == [
                try Self.id(tokenizer, "▁"), try Self.id(tokenizer, "x"),
                try Self.id(tokenizer, "<0xC3>"), try Self.id(tokenizer, "<0xA9>"),
            ])
        #expect(tokenizer.decode(ids) == "xé")
    }

    @Test func sentencePieceAddsBOSAndEOSAsTheVocabularySays() throws {
        var vocabulary = try Self.sentencePiece([("▁", -1), ("x", -1)]).vocabulary
        vocabulary.addEOS = true
        let tokenizer = try Tokenizer(vocabulary)
        let ids = tokenizer.encode("x")
        #expect(ids.first == 1 && ids.last == 2 && ids.count == 4)
        #expect(tokenizer.encode("") == [1, 2])
        #expect(tokenizer.encode("", addSpecialTokens: false) == [])
        #expect(tokenizer.decode(ids) == "x")
        #expect(tokenizer.decode(ids, renderSpecialTokens: true) == "<s>x</s>")
    }

    /// A byte-level vocabulary: the 256 byte characters, then `extra`.
    static func bytePair(extra: [String], merges: [String], types: [TokenType]? = nil) throws -> Tokenizer {
        let tokens = ByteLevelEncoding.encodedByte.map { String(decoding: $0, as: UTF8.self) } + extra
        let tokenTypes = [TokenType](repeating: .normal, count: 256) + (types ?? extra.map { _ in .normal })
        return try Tokenizer(
            TokenizerVocabulary(
                model: .bytePair, preTokenizer: .gpt2, tokens: tokens, tokenTypes: tokenTypes, merges: merges))
    }

    /// In these vocabularies the token of a byte's character has the byte's value as id.
    static func byte(_ character: Unicode.Scalar) -> Int { Int(character.value) }

    @Test func bytePairAppliesTheLowestRankedMergeFirst() throws {
        let tokenizer = try Self.bytePair(extra: ["ab", "bc"], merges: ["b c", "a b"])
        #expect(tokenizer.encode("abc") == [Self.byte("a"), 257])
        let reversed = try Self.bytePair(extra: ["ab", "bc"], merges: ["a b", "b c"])
        #expect(reversed.encode("abc") == [256, Self.byte("c")])
    }

    @Test func bytePairMapsSpacesAndBytesToTheirCharacters() throws {
        // "Ġ" is the space, and the merge "Ġ a" makes " a" one token.
        let tokenizer = try Self.bytePair(extra: ["Ġa"], merges: ["Ġ a"])
        let ids = tokenizer.encode("x a\u{1}")
        #expect(ids == [Self.byte("x"), 256, try Self.id(tokenizer, "ā")])
        #expect(tokenizer.decode(ids) == "x a\u{1}")
    }

    @Test func controlTokensAreMatchedOnlyWhenParsingSpecialTokens() throws {
        let tokenizer = try Self.bytePair(
            extra: ["<|end|>", "<|end|>!", "[PAD]"], merges: ["a b"], types: [.control, .control, .userDefined])
        let end = 256
        let endBang = 257
        let pad = 258
        #expect(!tokenizer.encode("a<|end|>b").contains(end))
        #expect(tokenizer.encode("a<|end|>b", parseSpecialTokens: true).contains(end))
        // The longer token wins where both match.
        #expect(tokenizer.encode("<|end|>!", parseSpecialTokens: true) == [endBang])
        // User-defined tokens are always matched.
        #expect(tokenizer.encode("x[PAD]y") == [Self.byte("x"), pad, Self.byte("y")])
    }

    @Test func strippingTokensSwallowAdjacentWhitespace() throws {
        var vocabulary = try Self.bytePair(extra: ["<|end|>"], merges: ["a b"], types: [.control]).vocabulary
        vocabulary.stripsWhitespaceAfter = [256]
        vocabulary.stripsWhitespaceBefore = [256]
        let tokenizer = try Tokenizer(vocabulary)
        let x = Self.byte("x")
        #expect(tokenizer.encode("x \n<|end|>\n x", parseSpecialTokens: true) == [x, 256, x])
    }

    @Test func inconsistentVocabulariesAreRejected() {
        #expect(throws: TokenizerError.self) { try Tokenizer(TokenizerVocabulary(model: .sentencePiece, tokens: [])) }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(TokenizerVocabulary(model: .sentencePiece, tokens: ["a", "b"], scores: [0]))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(TokenizerVocabulary(model: .bytePair, preTokenizer: .gpt2, tokens: ["a"]))
        }
        var vocabulary = TokenizerVocabulary(model: .sentencePiece, tokens: ["<unk>", "<s>", "</s>"])
        vocabulary.bosTokenID = 7
        #expect(throws: TokenizerError.self) { try Tokenizer(vocabulary) }
    }

    @Test func ggufMetadataIsReadWithLlamaCppDefaults() throws {
        let tokens = GGUFValue.array(.string(ByteLevelEncoding.encodedByte.map { String(decoding: $0, as: UTF8.self) }))
        let metadata = GGUFMetadata([
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("llama-bpe"),
            "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.merges": .array(.string(["a b"])),
            "tokenizer.ggml.bos_token_id": .uint32(3),
            "tokenizer.ggml.eos_token_id": .uint32(4),
        ])
        let vocabulary = try TokenizerVocabulary(metadata: metadata)
        #expect(vocabulary.preTokenizer == .llama3)
        #expect(vocabulary.addBOS && vocabulary.ignoreMerges && !vocabulary.addSpacePrefix)
        #expect(vocabulary.bosTokenID == 3 && vocabulary.eosTokenID == 4)

        var unknownPre = metadata.values
        unknownPre["tokenizer.ggml.pre"] = .string("some-future-model")
        #expect(throws: TokenizerError.self) { try TokenizerVocabulary(metadata: GGUFMetadata(unknownPre)) }
        var unknownModel = metadata.values
        unknownModel["tokenizer.ggml.model"] = .string("t5")  // Unigram (T5): not implemented; "bert" is (WordPiece)
        #expect(throws: TokenizerError.self) { try TokenizerVocabulary(metadata: GGUFMetadata(unknownModel)) }
        var wrongType = metadata.values
        wrongType["tokenizer.ggml.tokens"] = .string("not a list")
        #expect(throws: GGUFError.self) { try TokenizerVocabulary(metadata: GGUFMetadata(wrongType)) }
    }

    @Test func idsOutsideTheVocabularyDecodeToNothing() throws {
        let tokenizer = try Self.bytePair(extra: [], merges: ["a b"])
        #expect(tokenizer.decode([-1, 100_000, Self.byte("a")]) == "a")
    }
}
