import Foundation
import Testing

@testable import Backend

/// Mistral's Tekken pre-tokenizer (`tokenizer.ggml.pre = tekken`) against
/// llama.cpp's `llama-tokenize`.
///
/// llama.cpp ships no Tekken vocabulary, so both sides use the Llama 3
/// vocabulary with its `tokenizer.ggml.pre` changed to `tekken`:
/// `scripts/record-tekken-tokens.py` wrote that file for llama-tokenize and
/// recorded its ids (no BOS; each string tokenized on its own) for llama.cpp's
/// vocabulary test inputs, strings aimed at each rule and random strings;
/// here the same vocabulary is built from the committed Llama 3 file.
@Suite struct TokenizerTekkenReferenceTests {
    struct Record: Decodable {
        var text: String
        var ids: [Int]
    }

    static func tekkenTokenizer() throws -> Tokenizer {
        let file = try GGUFFile(path: VocabularyFixture.url("llama-bpe", "gguf").path)
        var values = file.metadata.values
        values["tokenizer.ggml.pre"] = .string("tekken")
        return try Tokenizer(TokenizerVocabulary(metadata: GGUFMetadata(values)))
    }

    static func records() throws -> [Record] {
        let url = try #require(
            Bundle.module.url(forResource: "tekken-llama-tokenize", withExtension: "json", subdirectory: "Fixtures/vocab"))
        return try JSONDecoder().decode([Record].self, from: Data(contentsOf: url))
    }

    @Test func everyRecordedStringTokenizesAsLlamaCppDoes() throws {
        let tokenizer = try Self.tekkenTokenizer()
        let records = try Self.records()
        #expect(records.count >= 400)  // 496 as recorded
        var mismatches = 0
        for record in records {
            let ours = tokenizer.encode(record.text, addSpecialTokens: false)
            if ours != record.ids {
                mismatches += 1
                Issue.record("\(record.text.debugDescription): ours \(ours), llama.cpp \(record.ids)")
            }
            #expect(tokenizer.decode(ours, renderSpecialTokens: true) == record.text)
        }
        #expect(mismatches == 0)
    }

    /// llama.cpp's settings for `tekken`: BOS added, whole-word tokens taken
    /// before merges (`ignore_merges`), and the `tekken` name accepted.
    @Test func tekkenVocabularyTakesLlamaCppsSettings() throws {
        let tokenizer = try Self.tekkenTokenizer()
        #expect(tokenizer.vocabulary.preTokenizer == .tekken)
        #expect(tokenizer.vocabulary.ignoreMerges)
        let bos = try #require(tokenizer.vocabulary.bosTokenID)
        #expect(tokenizer.encode("HelloWorld").first == bos)
        #expect(PreTokenizerKind(ggufName: "tekken") == .tekken)
    }

    /// Random strings of scalars from every class the expression tests: the
    /// words are non-empty and concatenate back to the input.
    @Test func wordsConcatenateBackToTheInput() {
        let alphabet: [Unicode.Scalar] = [
            "a", "z", "A", "Z", "é", "É", "σ", "Σ", "ǅ", "ʰ", "中", "0", "9", "٣", "²", " ", "\t", "\n", "\r",
            "\u{A0}", "\u{85}", "/", "!", "'", ".", "$", "~", "\u{301}", "\u{93F}", "\u{200D}", "😀", "\u{10FFFF}",
        ]
        var random = SeededRandom(seed: 0x7e_cc_e4)
        for _ in 0..<2000 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &random) { text.append(alphabet.randomElement(using: &random)!) }
            let string = String(text)
            let words = TokenizerPreTokenizerTests.scannerSplit(string, .tekken)
            #expect(words.allSatisfy { !$0.isEmpty }, "\(string.debugDescription)")
            #expect(words.joined() == string, "\(string.debugDescription)")
        }
    }

    @Test func lettersBreakWhereTheCaseChanges() {
        let split = { TokenizerPreTokenizerTests.scannerSplit($0, .tekken) }
        #expect(split("XMLHttpRequest") == ["XMLHttp", "Request"])
        #expect(split("HelloWorld isn't") == ["Hello", "World", " isn", "'t"])
        #expect(split("ÉCOLEéco ABCé éABC") == ["ÉCOLEéco", " ABCé", " é", "ABC"])
        #expect(split("x 12 a/b!!\n/\nc") == ["x", " ", "1", "2", " a", "/b", "!!\n/\n", "c"])
    }
}
