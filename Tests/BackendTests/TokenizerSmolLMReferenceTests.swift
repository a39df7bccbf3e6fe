import Testing

@testable import Backend

/// SmolLM2's tokenizer (`tokenizer.ggml.pre = smollm`) against Hugging Face's.
@Suite struct TokenizerSmolLMReferenceTests {
    /// Ids from Hugging Face `tokenizers` 0.23.3, with the GGUF's vocabulary
    /// and merges in a BPE model set up as SmolLM2's `tokenizer.json` is
    /// (`Digits(individual_digits)` then `ByteLevel` without a prefix space,
    /// the 17 control tokens as special tokens), encoding without added tokens.
    static let huggingFace: [(String, [Int])] = [
        ("What is the capital of France?", [1780, 314, 260, 3575, 282, 4649, 47]),
        ("Hello world", [19556, 905]),
        (" Hello  world\n\n  indented", [38699, 216, 905, 8866, 641, 6574]),
        (
            "I'm 12345 years old, it's 3.14159 — isn't it?",
            [57, 5248, 216, 33, 34, 35, 36, 37, 929, 1573, 28, 357, 506, 216, 35, 30, 33, 36, 33, 37, 41, 1841, 3247, 982, 357, 47]
        ),
        (
            "Grüße, 世界! 🌍 ٣٤ ²Ⅷ",
            [27302, 7170, 34878, 85, 28, 216, 7906, 240, 178, 239, 230, 17, 15107, 230, 231, 216, 164, 113, 164, 114, 216, 19133, 173, 223, 117]
        ),
        ("def f(x):\n\treturn x**2  # square\n", [1604, 275, 24, 104, 727, 198, 197, 5406, 1792, 828, 34, 216, 907, 5222, 198]),
        ("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", [1, 4093, 198, 26843, 17, 2, 198, 1, 520, 9531, 198]),
        (
            "THE QUICK BROWN FOX'LL JUMP'S $100,000.00",
            [15964, 30348, 27163, 389, 34559, 62, 23761, 72, 23, 16421, 530, 69, 7015, 23, 67, 1885, 33, 32, 32, 28, 32, 32, 32, 30, 32, 32]
        ),
        ("   ", [333]),
        ("a\r\nb\u{A0}c", [81, 201, 198, 82, 15442, 83]),
    ]

    @Test func textTokenizesAsHuggingFaceDoes() throws {
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: GGUFFile(path: InstalledDefaultModel.require())))
        #expect(tokenizer.vocabulary.preTokenizer == .smollm)
        for (text, ids) in Self.huggingFace {
            let ours = tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: true)
            #expect(ours == ids, "\(text.debugDescription)")
            #expect(tokenizer.decode(ours, renderSpecialTokens: true) == text)
        }
        // No BOS (`tokenizer.ggml.add_bos_token` is false); <|im_end|> (EOS) and <|endoftext|> end generation.
        #expect(tokenizer.encode("Hello world") == [19556, 905])
        #expect(tokenizer.vocabulary.endOfGenerationTokenIDs == [0, 2])
    }
}
