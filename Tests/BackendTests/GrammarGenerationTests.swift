import Foundation
import Testing

@testable import Backend

/// The demo model `scripts/setup` makes (random weights: it knows nothing of
/// JSON, the hardest case for constrained sampling), in this repository's `models/`.
enum DemoModel {
    static func require() throws -> String {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/lmgate-demo.gguf").path
        guard FileManager.default.isReadableFile(atPath: path) else { throw InstalledDefaultModel.NotInstalled(path: path) }
        return path
    }
}

@Suite("Grammar: constrained generation", .serialized)
struct GrammarGenerationTests {
    static let schemas = [
        #"{"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120},"tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3},"ok":{"type":"boolean"}},"required":["name","age","tags","ok"],"additionalProperties":false}"#,
        #"{"type":"object","properties":{"kind":{"anyOf":[{"type":"null"},{"type":"number","minimum":-5,"maximum":5}]},"inner":{"type":"object","properties":{"x":{"type":"string","minLength":1,"maxLength":4}},"required":["x"],"additionalProperties":false}},"required":["inner"],"additionalProperties":false}"#,
    ]

    @Test("with random weights, every constrained output parses and matches its schema", arguments: [0, 1])
    func randomWeightsFollowTheSchema(schemaIndex: Int) throws {
        let generator = try TextGenerator(path: try DemoModel.require(), threads: 2)
        let grammar = try JSONGrammar.compile(schema: schema(Self.schemas[schemaIndex]), strict: true)
        for seed in 0..<6 {
            var sampling = SamplingParameters()
            sampling.temperature = seed == 0 ? 0 : 1
            sampling.seed = UInt64(seed)
            let options = GenerationOptions(maxTokens: 400, sampling: sampling, constraint: OutputConstraint(grammar: grammar))
            let result = try generator.generate(promptTokens: generator.tokenizer.encode("Reply in JSON:"), options: options)
            #expect(result.finishReason == .endOfGeneration, "\(result.text)")
            #expect((try? JSONSerialization.jsonObject(with: Data(result.text.utf8))) != nil, "\(result.text)")
            #expect(grammarAccepts(grammar, result.text), "\(result.text)")
        }
    }

    @Test("json_object output parses as an object")
    func anyObject() throws {
        let generator = try TextGenerator(path: try DemoModel.require(), threads: 2)
        var sampling = SamplingParameters()
        sampling.temperature = 0.7
        for seed in 0..<4 {
            sampling.seed = UInt64(seed)
            let result = try generator.generate(
                promptTokens: generator.tokenizer.encode("{"),
                options: GenerationOptions(maxTokens: 300, sampling: sampling, constraint: .jsonObject))
            if result.finishReason == .endOfGeneration {
                #expect((try? JSONSerialization.jsonObject(with: Data(result.text.utf8))) as? [String: Any] != nil, "\(result.text)")
            } else {
                // Truncated by the token limit: still a prefix the grammar took.
                var state = JSONGrammar.anyObject.start()
                let tookText = state.advance(Array(result.text.utf8))
                #expect(tookText, "\(result.text)")
            }
        }
    }

    @Test("the trie walk finds exactly the tokens a token-by-token check allows")
    func maskMatchesBruteForce() throws {
        let file = try GGUFFile(path: try InstalledDefaultModel.require())
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
        let grammar = try JSONGrammar.compile(schema: schema(Self.schemas[0]), strict: true)
        let cases: [(JSONGrammar, String)] =
            ["", "{", #"{"na"#, #"{"name":"ab"#, #"{"name":"abcdefg"#, #"{"name":"x","age":1"#, #"{"name":"x","age":12,"tags":["#]
            .map { (grammar, $0) } + ["{", #"{"ke"#, #"{"k":"é"#, #"{"k":"a\"#, #"{"k":[1,"#].map { (JSONGrammar.anyObject, $0) }
        for (grammar, prefix) in cases {
            var filter = GrammarTokenFilter(OutputConstraint(grammar: grammar), tokenizer: tokenizer)
            for token in tokenizer.encode(prefix, addSpecialTokens: false) {
                let allowed = filter.allows(token)
                #expect(allowed)
                filter.accept(token)
            }
            let walked = Set(filter.allowedTokens())
            let checked = Set((0..<tokenizer.vocabularySize).filter { filter.allows($0) })
            #expect(walked == checked, "after \(prefix)")
            #expect(!checked.isEmpty)
            #expect(!checked.contains { tokenizer.vocabulary.type(of: $0) == .control && !tokenizer.isEndOfGeneration($0) })
        }
    }
}
