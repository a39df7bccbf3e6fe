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
}
