import Testing

@testable import Backend

/// The streaming detokenizer on real vocabularies: characters spelled by
/// several tokens (byte-fallback tokens in SentencePiece, split UTF-8 in
/// byte-level BPE) come out whole, once, and only when complete.
@Suite struct TokenizerStreamingTests {
    static let text = "🦙 llamas 😶‍🌫️ say: 我想在apple工作 — Ünïcödé ✓ 🚀🚀"

    @Test(arguments: VocabularyFixture.names)
    func streamedTextEqualsTheWholeTextAndNoChunkHoldsHalfACharacter(name: String) throws {
        let tokenizer = try VocabularyFixture.tokenizer(name)
        let ids = tokenizer.encode(Self.text, addSpecialTokens: false)
        // The test is only meaningful if some character is split across tokens.
        let splitCharacters = ids.filter { id in
            let piece = tokenizer.pieceBytes(id)
            return String(validating: piece, as: UTF8.self) == nil
        }
        #expect(!splitCharacters.isEmpty, "\(name): no token holds part of a character")

        var stream = StreamingDetokenizer(tokenizer: tokenizer, atStartOfText: true)
        var chunks: [String] = []
        for id in ids { chunks.append(stream.append(id)) }
        chunks.append(stream.finish())
        #expect(chunks.joined() == Self.text)
        for chunk in chunks {
            #expect(!chunk.unicodeScalars.contains("\u{FFFD}"), "\(name): chunk \(chunk.debugDescription)")
        }
    }

    @Test func emojiAsByteTokensArrivesWithItsLastByte() throws {
        let tokenizer = try VocabularyFixture.tokenizer("llama-spm")
        // 🦙 is F0 9F A6 99: llama-spm has no piece for it, so four <0xNN> tokens.
        let byteTokens = try ["<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"].map {
            try #require(tokenizer.vocabulary.tokens.firstIndex(of: $0))
        }
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(stream.append(byteTokens[0]) == "")
        #expect(stream.append(byteTokens[1]) == "")
        #expect(stream.append(byteTokens[2]) == "")
        #expect(stream.append(byteTokens[3]) == "🦙")
        #expect(stream.finish() == "")
    }

    @Test func anUnfinishedCharacterAtTheEndBecomesOneReplacementCharacter() throws {
        let tokenizer = try VocabularyFixture.tokenizer("llama-spm")
        let lead = try #require(tokenizer.vocabulary.tokens.firstIndex(of: "<0xE2>"))
        let letter = try #require(tokenizer.vocabulary.tokens.firstIndex(of: "<0x41>"))
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(stream.append(lead) == "")
        #expect(stream.finish() == "\u{FFFD}")
        // A lead byte followed by a byte that cannot continue it is not held forever.
        #expect(stream.append(lead) == "")
        #expect(stream.append(letter) == "\u{FFFD}A")
    }

    @Test func completePrefixLengthHoldsBackOnlyABegunSequence() {
        #expect(StreamingDetokenizer.completePrefixLength([]) == 0)
        #expect(StreamingDetokenizer.completePrefixLength(Array("ab".utf8)) == 2)
        #expect(StreamingDetokenizer.completePrefixLength([0x61, 0xF0, 0x9F]) == 1)
        #expect(StreamingDetokenizer.completePrefixLength([0x61, 0xF0, 0x9F, 0xA6, 0x99]) == 5)
        #expect(StreamingDetokenizer.completePrefixLength([0x61, 0xC3]) == 1)
        // Stray continuation bytes cannot be completed: they are released (as U+FFFD).
        #expect(StreamingDetokenizer.completePrefixLength([0x61, 0x80, 0x80, 0x80, 0x80]) == 5)
    }

    @Test func controlTokensAreSilentUnlessRendered() throws {
        let tokenizer = try VocabularyFixture.tokenizer("qwen2")
        let end = try #require(tokenizer.vocabulary.tokens.firstIndex(of: "<|im_end|>"))
        var silent = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(silent.append(end) == "")
        var rendered = StreamingDetokenizer(tokenizer: tokenizer, renderSpecialTokens: true)
        #expect(rendered.append(end) == "<|im_end|>")
    }
}
