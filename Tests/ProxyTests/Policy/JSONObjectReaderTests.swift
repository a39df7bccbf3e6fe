import Foundation
import Testing
@testable import Proxy

/// The proxy's one-pass JSON reading (``JSONObjectReader``) against
/// Foundation's `JSONSerialization` as the independent parser: what the
/// proxy counts and asks for must be what a JSON decoder reads.
@Suite struct JSONObjectReaderTests {
    /// Random JSON values as text, with awkward strings and whitespace.
    struct RandomJSON {
        var random: SplitMix64

        mutating func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }
        mutating func space() -> String { pick(["", " ", "\n", "\t ", "\r\n"]) }

        mutating func string() -> String {
            let pieces = ["a", "model", "usage", "}", "{", "\\\"", "\\\\", "\\u0065", "\\ud83d\\ude00", "é", "😀", ",", ":", "[", "]", "\\n"]
            return "\"" + (0..<Int(random.next() % 6)).map { _ in pick(pieces) }.joined() + "\""
        }

        mutating func value(depth: Int) -> String {
            switch depth > 3 ? random.next() % 4 : random.next() % 6 {
            case 0: return String(Int(random.next() % 100_000) - 50_000)
            case 1: return pick(["true", "false", "null", "1.5", "-0", "2e3"])
            case 2, 3: return string()
            case 4: return "[" + (0..<Int(random.next() % 4)).map { _ in space() + value(depth: depth + 1) + space() }.joined(separator: ",") + "]"
            default: return object(depth: depth + 1, keys: ["a", "b", "usage", "model"])
            }
        }

        mutating func object(depth: Int, keys: [String]) -> String {
            var seen = Set<String>()
            var members: [String] = []
            for _ in 0..<Int(random.next() % 5) {
                let key = pick(keys)
                guard seen.insert(key).inserted else { continue }
                members.append(space() + "\"" + key + "\"" + space() + ":" + space() + value(depth: depth) + space())
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    func canonical(_ value: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func membersAndTheirValuesAreFoundationsReading(seed: UInt64) throws {
        var json = RandomJSON(random: SplitMix64(seed: seed))
        for _ in 0..<300 {
            let text = json.space() + json.object(depth: 0, keys: ["model", "stream", "usage", "x", "prompt_tokens", "é"]) + json.space()
            let bytes = Array(text.utf8)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], "\(text)")
            var reader = JSONObjectReader(bytes: bytes)
            var keys: [String] = []
            while let (key, value) = try reader.nextMember() {
                keys.append(key)
                let expected = try #require(object[key])
                // Each value, read back from its range alone, is the value Foundation read.
                let alone = try JSONSerialization.jsonObject(with: Data(bytes[value]), options: .fragmentsAllowed)
                #expect(try canonical(alone) == canonical(expected), "\(key) in \(text)")
                if let string = expected as? String { #expect(reader.string(in: value) == string) }
                if let number = expected as? NSNumber, !(expected is Bool), let exact = Int(exactly: number.doubleValue),
                    !String(decoding: bytes[value], as: UTF8.self).contains(where: { ".eE".contains($0) })
                {
                    #expect(reader.integer(in: value) == exact)
                }
            }
            #expect(Set(keys) == Set(object.keys) && keys.count == object.count, "\(text)")
        }
    }

    @Test func malformedObjectsAreRefusedNotGuessed() {
        for text in ["", "{", "{\"a\":1", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":1}x", "[1]", "{\"a\":tru}", "{\"a\":\"\\x\"}",
                     "{\"a\":\"\u{01}\"}", "{\"\\ud800\":1}", "{\"a\":\"\\ud800x\"}"] {
            var reader = JSONObjectReader(bytes: Array(text.utf8))
            #expect(throws: JSONObjectReader.Failure.self, "\(text)") {
                while try reader.nextMember() != nil {}
            }
        }
        var invalidUTF8 = JSONObjectReader(bytes: Array(#"{"a":""#.utf8) + [0xC3] + Array(#""}"#.utf8))
        #expect(throws: JSONObjectReader.Failure.self) { while try invalidUTF8.nextMember() != nil {} }
    }

    /// Usage read from random responses equals Foundation's reading of
    /// their `usage` (prompt + completion, or Anthropic's input + output).
    @Test func responseUsageIsFoundationsReading() throws {
        var json = RandomJSON(random: SplitMix64(seed: 7))
        for round in 0..<300 {
            let prompt = Int(json.random.next() % 5000), completion = Int(json.random.next() % 5000)
            let names = round % 2 == 0 ? ("prompt_tokens", "completion_tokens") : ("input_tokens", "output_tokens")
            let usage = "{\"\(names.0)\":\(prompt),\(json.space())\"\(names.1)\"\(json.space()):\(completion),\"total_tokens\":0}"
            let filler = json.object(depth: 2, keys: ["id", "choices", "object"])
            let text = "{\(json.space())\"usage\":\(usage),\"model\":\(json.string()),\"extra\":\(filler)}"
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let counts = try #require(object["usage"] as? [String: Any])
            var meter = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
            _ = meter.pass(Array(text.utf8))
            _ = meter.finish()
            #expect(meter.tokens == (counts[names.0] as? Int ?? -1) + (counts[names.1] as? Int ?? -1), "\(text)")
            #expect(meter.model == object["model"] as? String)
        }
    }

    @Test func contentTypesAreReadWithoutCaseOrParameters() {
        #expect(ResponseUsageMeter.kind(ofContentType: "application/json") == .json)
        #expect(ResponseUsageMeter.kind(ofContentType: " Application/JSON ; charset=utf-8") == .json)
        #expect(ResponseUsageMeter.kind(ofContentType: "text/event-stream;charset=utf-8") == .eventStream)
        #expect(ResponseUsageMeter.kind(ofContentType: "\tTEXT/Event-Stream") == .eventStream)
        #expect(ResponseUsageMeter.kind(ofContentType: "application/jsonx") == .unread)
        #expect(ResponseUsageMeter.kind(ofContentType: "text/event-stream2") == .unread)
        #expect(ResponseUsageMeter.kind(ofContentType: "") == .unread)
    }

    /// ``JSONObjectReader/nextMemberKey()`` with ``JSONObjectReader/key(_:is:)``
    /// matches a name exactly when ``JSONObjectReader/nextMember()``'s key
    /// equals it (escaped keys, non-ASCII keys, near misses), and refuses
    /// what it refuses.
    @Test(arguments: [11, 12] as [UInt64])
    func keysComparedAsBytesAreTheDecodedKeys(seed: UInt64) throws {
        var json = RandomJSON(random: SplitMix64(seed: seed))
        let names = ["model", "usage", "completion_tokens", "prompt_tokens", "é", "mode", "usages", ""]
        let keys = [
            "model", "usage", "completion_tokens", "completion\\u005ftokens", "\\u0075sage", "mod\\u0065l", "é", "\\u00e9",
            "mode", "usages", "Usage", "", "completion_token", "prompt_tokens",
        ]
        for _ in 0..<300 {
            let text = json.space() + json.object(depth: 0, keys: keys) + json.space()
            var byString = JSONObjectReader(bytes: Array(text.utf8))
            var byBytes = byString
            while true {
                let string = try byString.nextMember()
                let bytes = try byBytes.nextMemberKey()
                guard let string, let bytes else {
                    #expect(string == nil && bytes == nil, "\(text)")
                    break
                }
                #expect(string.value == bytes.value, "\(text)")
                for name in names {
                    #expect(byBytes.key(bytes.key, is: Array(name.utf8)) == (string.key == name), "\(name) in \(text)")
                }
            }
        }
        for text in ["{\"a\u{01}\":1}", "{\"\\ud800\":1}", "{\"a\\x\":1}", "{\"a\":1,}"] {
            var reader = JSONObjectReader(bytes: Array(text.utf8))
            #expect(throws: JSONObjectReader.Failure.self, "\(text)") { while try reader.nextMemberKey() != nil {} }
        }
        var invalidUTF8 = JSONObjectReader(bytes: Array(#"{""#.utf8) + [0xC3] + Array(#"":1}"#.utf8))
        #expect(throws: JSONObjectReader.Failure.self) { while try invalidUTF8.nextMemberKey() != nil {} }
    }

    /// Responses a hostile upstream could send, each split at every place
    /// into two reads: the meter's count is the one Foundation's parser
    /// reads (the last of a repeated member, as decoders that build a
    /// dictionary keep), and what no JSON decoder would read as usage is
    /// not counted.
    @Test func hostileResponsesAreCountedAsAParserReadsThem() throws {
        let responses = [
            // `usage` inside strings, and a key that only looks like it.
            #"{"id":"\"usage\":{\"prompt_tokens\":99}","usage":{"prompt_tokens":2,"completion_tokens":3}}"#,
            #"{"note":"usage","usage ":{"prompt_tokens":50},"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
            // Escaped keys are the keys they decode to.
            #"{"\u0075sage":{"prompt\u005ftokens":4,"completion_tokens":5}}"#,
            #"{"usage":{"completion\u005ftokens":6,"prompt_tokens":1}}"#,
            // A repeated member counts by its last value.
            #"{"usage":{"prompt_tokens":100,"completion_tokens":100},"usage":{"prompt_tokens":7,"completion_tokens":8}}"#,
            #"{"usage":{"prompt_tokens":1,"prompt_tokens":9,"completion_tokens":2}}"#,
            // Nested `usage` objects are not the response's.
            #"{"choices":[{"usage":{"prompt_tokens":70}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#,
            // Whitespace everywhere a parser allows it.
            "{ \"usage\" :\n{\t\"prompt_tokens\" : 10 ,\r\n \"completion_tokens\":11 } }\n",
        ]
        for text in responses {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
            let counts = try #require(object["usage"] as? [String: Any], "\(text)")
            let expected = (counts["prompt_tokens"] as? Int ?? 0) + (counts["completion_tokens"] as? Int ?? 0)
            let bytes = Array(text.utf8)
            for split in 0...bytes.count {
                var meter = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
                #expect(meter.pass(bytes[..<split]) == nil && meter.pass(bytes[split...]) == nil)
                #expect(meter.finish() == [])
                #expect(meter.tokens == expected, "\(text) split at \(split)")
            }
        }
        // Counts that are not plain integers of at most 18 digits are not
        // taken (a huge number, a fraction, a string), and no usage object,
        // or a body that is not one JSON object, counts nothing.
        for text in [
            #"{"usage":{"prompt_tokens":123456789012345678901234,"completion_tokens":2}}"#,
            #"{"usage":{"prompt_tokens":1.5,"completion_tokens":"3"}}"#,
        ] {
            var meter = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
            _ = meter.pass(Array(text.utf8))
            _ = meter.finish()
            #expect(meter.promptTokens == nil, "\(text)")
        }
        for text in [
            #"{"usage":null}"#, #"{"usage":{"prompt_tokens":5}}x"#, #"{"usage":{"prompt_tokens":5}"#,
            #"[{"usage":{"prompt_tokens":5}}]"#,
        ] {
            var meter = ResponseUsageMeter(contentType: "application/json", stripsUsageChunk: false)
            _ = meter.pass(Array(text.utf8))
            _ = meter.finish()
            #expect(meter.tokens == nil, "\(text)")
        }
    }
}
