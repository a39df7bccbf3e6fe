import Foundation
import Testing

@testable import Backend

/// WordPiece (`bert`) against llama.cpp's bert-bge test vectors (from the
/// Hugging Face tokenizer), and the framing an embedding model needs.
@Suite struct TokenizerWordPieceTests {
    @Test func everyBertTestVectorMatches() throws {
        let tokenizer = try VocabularyFixture.tokenizer("bert-bge")
        let cases = try VocabularyFixture.cases("bert-bge")
        #expect(cases.count == 46)
        for testCase in cases {
            #expect(tokenizer.encode(testCase.text, addSpecialTokens: false) == testCase.expected, "\(testCase.testDescription)")
        }
    }

    @Test func specialTokensFrameTheTextAsCLSAndSEP() throws {
        let tokenizer = try VocabularyFixture.tokenizer("bert-bge")
        let vocabulary = tokenizer.vocabulary
        #expect(vocabulary.model == .wordPiece)
        #expect(vocabulary.tokens[vocabulary.bosTokenID ?? -1] == "[CLS]")
        #expect(vocabulary.tokens[vocabulary.eosTokenID ?? -1] == "[SEP]")
        let ids = tokenizer.encode("Hello world")
        #expect(ids.first == vocabulary.bosTokenID)
        #expect(ids.last == vocabulary.eosTokenID)
        #expect(Array(ids.dropFirst().dropLast()) == tokenizer.encode("Hello world", addSpecialTokens: false))
    }

    @Test func basicPreTokenizationLowercasesStripsAccentsAndSplitsPunctuationAndCJK() throws {
        let tokenizer = try VocabularyFixture.tokenizer("bert-bge")
        let encoder = WordPieceEncoder(vocabulary: tokenizer.vocabulary)
        #expect(encoder.words(of: "Héllo,  WORLD!\u{7}") == ["hello", ",", "world", "!"])
        #expect(encoder.words(of: "a$b 中文") == ["a", "$", "b", "中", "文"])
    }

    @Test func aWordNoTokensCoverIsOneUnknownToken() throws {
        let tokenizer = try VocabularyFixture.tokenizer("bert-bge")
        let unknown = try #require(tokenizer.vocabulary.unknownTokenID)
        // U+16A0 (a rune) is in no BERT vocabulary: the whole word, not only the rune, becomes [UNK].
        #expect(tokenizer.encode("ab\u{16A0}cd", addSpecialTokens: false) == [unknown])
    }

    @Test func continuationsFollowTheWordStart() throws {
        let tokenizer = try VocabularyFixture.tokenizer("bert-bge")
        let ids = tokenizer.encode("unaffable", addSpecialTokens: false)
        #expect(ids.count > 1)
        #expect(tokenizer.vocabulary.tokens[ids[0]].hasPrefix("\u{2581}"))
        #expect(ids.dropFirst().allSatisfy { !tokenizer.vocabulary.tokens[$0].hasPrefix("\u{2581}") })
    }
}
