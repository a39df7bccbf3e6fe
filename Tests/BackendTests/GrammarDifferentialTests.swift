import Foundation
import Testing

@testable import Backend

/// The grammar against the `jsonschema` package: random schemas and JSON
/// texts (valid values and near misses) that `scripts/make-grammar-fixtures.py`
/// labelled with jsonschema's own validator.
@Suite("Grammar: differential against jsonschema")
struct GrammarDifferentialTests {
    struct Suite: Decodable {
        let schema: JSONValue
        let cases: [Case]
    }

    struct Case: Decodable {
        let text: String
        let valid: Bool
    }

    @Test("the grammar accepts exactly the texts jsonschema calls valid")
    func agreesWithJSONSchema() throws {
        let url = try #require(Bundle.module.url(forResource: "differential", withExtension: "json", subdirectory: "Fixtures/grammar"))
        let suites = try JSONDecoder().decode([Suite].self, from: Data(contentsOf: url))
        #expect(suites.count >= 100)
        var checked = 0, valid = 0
        for suite in suites {
            let grammar = try JSONGrammar.compile(schema: suite.schema, strict: false)
            for testCase in suite.cases {
                #expect(grammarAccepts(grammar, testCase.text) == testCase.valid, "\(suite.schema.serialized)\n\(testCase.text)")
                checked += 1
                if testCase.valid { valid += 1 }
            }
        }
        #expect(checked > 1000 && valid > 300)
    }
}
