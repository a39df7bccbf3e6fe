import Foundation
import Testing

@testable import Backend

/// Schemas an attacker sends: each refused quickly with an error naming the
/// feature and where it is.
@Suite("Grammar: unsupported and adversarial schemas")
struct GrammarLimitsTests {
    func error(_ text: String) throws -> GrammarError? {
        let value = try schema(text)
        do {
            _ = try JSONGrammar.compile(schema: value, strict: true)
            return nil
        } catch {
            return error
        }
    }

    @Test("unsupported keywords are named with their path")
    func unsupported() throws {
        let pattern = try #require(try error(#"{"type":"object","properties":{"code":{"type":"string","pattern":"^[a-z]+$"}}}"#))
        #expect(pattern.feature == "pattern" && pattern.path == "#/properties/code")
        #expect(try error(#"{"type":"string","format":"date-time"}"#)?.feature == "format")
        #expect(try error(#"{"type":"array","uniqueItems":true}"#)?.feature == "uniqueItems")
        #expect(try error(#"{"allOf":[{"type":"integer"},{"minimum":1}]}"#)?.feature == "allOf")
        #expect(try error(#"{"type":"integer","multipleOf":2}"#)?.feature == "multipleOf")
        #expect(try error(#"{"oneOf":[{"type":"integer"},{"type":"number"}]}"#)?.feature == "oneOf")
        #expect(try error(#"{"type":"integer","minimum":5,"maximum":4}"#)?.feature == "minimum")
        #expect(try error(#"{"$ref":"https://example.com/s.json"}"#)?.feature == "$ref")
        #expect(try error(#"{"oneOf":[{"type":"integer"},{"type":"string"}]}"#) == nil)
    }

    @Test("recursive references are refused, shared ones compiled once")
    func references() throws {
        let recursive = try #require(try error(##"{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}"##))
        #expect(recursive.feature == "$ref" && recursive.message.contains("recursive"))
        // Nine levels each using the next twice: 2^9 copies unless each target is compiled once.
        var defs: [String] = []
        for level in 0..<9 {
            defs.append(##""d\##(level)":{"type":"array","items":{"anyOf":[{"$ref":"#/$defs/d\##(level + 1)"},{"$ref":"#/$defs/d\##(level + 1)"}]}}"##)
        }
        defs.append(#""d9":{"type":"null"}"#)
        let grammar = try JSONGrammar.compile(schema: schema(##"{"$defs":{\##(defs.joined(separator: ","))},"$ref":"#/$defs/d0"}"##), strict: true)
        #expect(grammar.nodes.count < 60)
        #expect(grammarAccepts(grammar, "[[[[[[[[[null]]]]]]]]]"))
    }

    @Test("deep nesting, huge enums and wide objects hit limits")
    func limits() throws {
        let deep = String(repeating: #"{"type":"array","items":"#, count: 200) + "{}" + String(repeating: "}", count: 200)
        #expect(try error(deep)?.feature == "nesting")
        let values = (0..<5000).map { "\"v\($0)\"" }.joined(separator: ",")
        #expect(try error(#"{"enum":[\#(values)]}"#)?.feature == "enum")
        let properties = (0..<100).map { #""p\#($0)":{"type":"null"}"# }.joined(separator: ",")
        #expect(try error(#"{"type":"object","properties":{\#(properties)}}"#)?.feature == "properties")
        #expect(try error(#"{"type":"array","minItems":1000000}"#)?.feature == "minItems")
    }
}
