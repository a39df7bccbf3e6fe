import Foundation
import Testing

@testable import Backend

/// llama.cpp's tokenizer test vectors (from the Hugging Face tokenizers):
/// every input must tokenize, without BOS, to exactly the recorded ids.
@Suite struct TokenizerVocabularyFixtureTests {
    @Test(arguments: VocabularyFixture.names)
    func everyTestVectorMatches(name: String) throws {
        let tokenizer = try VocabularyFixture.tokenizer(name)
        let cases = try VocabularyFixture.cases(name)
        #expect(cases.count == 46)
        var passed = 0
        for testCase in cases {
            let ids = tokenizer.encode(testCase.text, addSpecialTokens: false)
            #expect(ids == testCase.expected, "\(name) \(testCase.testDescription)")
            if ids == testCase.expected { passed += 1 }
        }
        print("tokenizer vectors \(name): \(passed)/\(cases.count) pass")
    }

    @Test(arguments: VocabularyFixture.names)
    func decodingRestoresEveryTestInput(name: String) throws {
        let tokenizer = try VocabularyFixture.tokenizer(name)
        for testCase in try VocabularyFixture.cases(name) {
            #expect(tokenizer.decode(testCase.expected) == testCase.text, "\(name) \(testCase.testDescription)")
        }
    }
}
