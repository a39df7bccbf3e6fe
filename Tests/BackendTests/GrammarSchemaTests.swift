import Foundation
import Testing

@testable import Backend

/// Whether the grammar of `schema` takes `text` as a whole document.
func grammarAccepts(_ grammar: JSONGrammar, _ text: String) -> Bool {
    var state = grammar.start()
    return state.advance(Array(text.utf8)) && state.isComplete
}

func schema(_ text: String) throws -> JSONValue {
    try #require(JSONValue.parse(Data(text.utf8)))
}

@Suite("Grammar: JSON Schema compiled to a byte grammar")
struct GrammarSchemaTests {
    @Test("an object's required and optional properties, in any order, and nothing else under strict")
    func objects() throws {
        let grammar = try JSONGrammar.compile(
            schema: schema(#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}"#),
            strict: true)
        for text in [#"{"name":"Ann"}"#, #"{"name":"Ann","age":3}"#, #"{ "age" : 3 , "name" : "é漢" }"#, "{\"name\":\"a\\\"b\\n\"}"] {
            #expect(grammarAccepts(grammar, text), "\(text)")
        }
        for text in [
            #"{}"#, #"{"age":3}"#, #"{"name":"Ann","extra":1}"#, #"{"name":"Ann","name":"Bob"}"#, #"{"name":3}"#,
            #"{"name":"Ann","age":3.5}"#, #"{"name":"Ann"}x"#, #"{"name":"Ann""#, #"{"name":"\u0041"}"#, "{\"name\":\"a\u{1}\"}",
        ] {
            #expect(!grammarAccepts(grammar, text), "\(text)")
        }
        let loose = try JSONGrammar.compile(schema: schema(#"{"type":"object","properties":{"a":{"type":"null"}}}"#), strict: false)
        #expect(grammarAccepts(loose, #"{"b":[1,{"c":true}],"a":null}"#))
        #expect(!grammarAccepts(loose, #"{"a":1}"#))
    }

    @Test("integer bounds are exact; number bounds are never crossed")
    func numbers() throws {
        let integer = try JSONGrammar.compile(schema: schema(#"{"type":"integer","minimum":-12,"maximum":130}"#), strict: true)
        for value in [-12, -1, 0, 7, 99, 130] { #expect(grammarAccepts(integer, "\(value)"), "\(value)") }
        for text in ["-13", "131", "1000", "01", "1.0", "1e2", "-", ""] { #expect(!grammarAccepts(integer, text), "\(text)") }
        var state = integer.start()
        let tookPrefix = state.advance(Array("13".utf8))
        #expect(tookPrefix)
        let tookDigit = state.advance(UInt8(ascii: "1"))
        #expect(!tookDigit, "131 is out of range, so a digit after 13 is refused")
        let number = try JSONGrammar.compile(schema: schema(#"{"type":"number","exclusiveMinimum":0,"maximum":2.5}"#), strict: true)
        for text in ["1", "1.75", "2"] { #expect(grammarAccepts(number, text), "\(text)") }
        for text in ["0", "0.5", "2.75", "3", "-1", "1e0"] { #expect(!grammarAccepts(number, text), "\(text)") }
        let free = try JSONGrammar.compile(schema: schema(#"{"type":"number"}"#), strict: true)
        for text in ["-0.5", "1e-07", "12.5E+3", "0"] { #expect(grammarAccepts(free, text), "\(text)") }
    }

    @Test("strings count characters, arrays count items, enums and anyOf match exactly")
    func stringsArraysEnums() throws {
        let grammar = try JSONGrammar.compile(
            schema: schema(
                #"{"type":"object","properties":{"s":{"type":"string","minLength":2,"maxLength":3},"a":{"type":"array","items":{"enum":["x",1,null]},"minItems":1,"maxItems":2},"u":{"anyOf":[{"type":"boolean"},{"type":"object","properties":{"k":{"const":"v"}},"required":["k"],"additionalProperties":false}]}},"required":["s","a","u"],"additionalProperties":false}"#
            ), strict: true)
        #expect(grammarAccepts(grammar, #"{"s":"漢🙂","a":["x",null],"u":true}"#))
        #expect(grammarAccepts(grammar, #"{"u":{"k":"v"},"a":[1],"s":"abc"}"#))
        for text in [
            #"{"s":"a","a":["x"],"u":true}"#, #"{"s":"abcd","a":["x"],"u":true}"#, #"{"s":"ab","a":[],"u":true}"#,
            #"{"s":"ab","a":[1,1,1],"u":true}"#, #"{"s":"ab","a":["y"],"u":true}"#, #"{"s":"ab","a":[1],"u":{"k":"w"}}"#,
            #"{"s":"ab","a":[1],"u":null}"#,
        ] {
            #expect(!grammarAccepts(grammar, text), "\(text)")
        }
    }

    @Test("local $ref and $defs are followed; json_object takes any object and only objects")
    func referencesAndAnyObject() throws {
        let grammar = try JSONGrammar.compile(
            schema: schema(##"{"$defs":{"p":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"type":"array","items":{"$ref":"#/$defs/p"}}"##),
            strict: true)
        #expect(grammarAccepts(grammar, #"[{"x":1},{"x":2}]"#))
        let wrapped = try JSONGrammar.compile(schema: schema(#"{"allOf":[{"type":"integer","maximum":3}],"description":"d"}"#), strict: true)
        #expect(grammarAccepts(wrapped, "3") && !grammarAccepts(wrapped, "4"))
        #expect(!grammarAccepts(grammar, #"[{"x":"1"}]"#))
        #expect(grammarAccepts(.anyObject, #"{"a":[1,2.5e3,"x",{"b":null}],"c":{"d":[true,false]}}"#))
        for text in ["[]", "1", #""x""#, "{", #"{"a":}"#, #"{"a":1,}"#, #"{"a":1,"b":2,"a":3}"#, #"{"x":{"k":1,"k":1}}"#] {
            #expect(!grammarAccepts(.anyObject, text), "\(text)")
        }
    }

    @Test("every state the grammar reaches can still be completed")
    func noDeadEnds() throws {
        // Walk random bytes from what the grammar allows: a completion must always exist.
        let grammar = try JSONGrammar.compile(
            schema: schema(#"{"type":"object","properties":{"ab":{"type":"integer","minimum":5,"maximum":7},"a":{"type":"string","maxLength":1},"abc":{"type":"array","items":{"type":"number","minimum":-3,"maximum":-1},"maxItems":2}},"required":["a"],"additionalProperties":false}"#),
            strict: true)
        var generator = SeededRandomGenerator(seed: 5)
        for _ in 0..<200 {
            var state = grammar.start()
            for _ in 0..<60 {
                let allowed = (0...255).map(UInt8.init).filter { var copy = state; return copy.advance($0) }
                if allowed.isEmpty { break }
                state.advance(allowed[Int(generator.next() % UInt64(allowed.count))])
            }
            #expect(state.isComplete || state.canContinue)
        }
    }
}
