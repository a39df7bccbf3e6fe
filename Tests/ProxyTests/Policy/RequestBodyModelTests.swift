import Testing
@testable import Proxy

/// Reading a body's `model` the way an upstream's JSON parser does, and
/// refusing every body two parsers could read differently.
@Suite struct RequestBodyModelTests {
    func model(_ text: String) -> RequestBodyModel { RequestBodyModel(body: Array(text.utf8)) }

    @Test func readsTheTopLevelModel() {
        #expect(model(#"{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}]}"#) == .model("qwen3-8b"))
        #expect(model(" \n{ \"stream\" : true , \"model\" : \"a\\u002Db\" }\n") == .model("a-b"))
        #expect(model(#"{"model":"\ud83d\ude00"}"#) == .model("😀"))
        #expect(model(#"{"messages":[]}"#) == .missing)
        #expect(model("{}") == .missing)
    }

    @Test func nestedModelKeysAndBracesInStringsDoNotCount() {
        #expect(model(#"{"metadata":{"model":"other"},"model":"a"}"#) == .model("a"))
        #expect(model(#"{"x":"}{\"model\":\"b\"","model":"a"}"#) == .model("a"))
        #expect(model(#"{"tools":[{"model":"b"}]}"#) == .missing)
    }

    @Test func duplicateModelKeysAreRefusedEvenWhenEscaped() {
        guard case .refused = model(#"{"model":"allowed","model":"forbidden"}"#) else {
            Issue.record("two model keys were accepted")
            return
        }
        guard case .refused = model(#"{"model":"allowed","mod\u0065l":"forbidden"}"#) else {
            Issue.record("an escaped second model key was accepted")
            return
        }
    }

    @Test func aKeyThatIsModelButForCaseIsRefused() {
        for body in [#"{"Model":"forbidden"}"#, #"{"model":"a","MODEL":"forbidden"}"#] {
            guard case .refused = model(body) else {
                Issue.record("\(body) was accepted")
                continue
            }
        }
    }

    @Test func anythingButOneWellFormedObjectIsRefused() {
        let bodies = [
            "", "[]", "\u{FEFF}{\"model\":\"a\"}", #"{"model":"a"} {"model":"b"}"#, #"{"model":"a"}x"#,
            #"{"model":7}"#, #"{"model":"a""#, #"{"model":"a\q"}"#, "{\"model\":\"a\u{01}\"}", #"{"model":"\ud800"}"#,
            #"{"model":"a",}"#, #"{"x":tru,"model":"a"}"#,
            "{\"x\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}",
        ]
        for body in bodies {
            guard case .refused = model(body) else {
                Issue.record("\(body.prefix(40)) was not refused")
                continue
            }
        }
        // Invalid UTF-8 inside the model name.
        guard case .refused = RequestBodyModel(body: Array(#"{"model":""#.utf8) + [0xFF] + Array(#""}"#.utf8)) else {
            Issue.record("invalid UTF-8 was accepted")
            return
        }
    }

    /// Keys are remembered in fixed storage up to its size, then in a set:
    /// a repeat is found wherever it falls, before and after the change.
    @Test func aRepeatedKeyIsFoundBeforeAndPastTheFixedStorage() {
        let limit = RequestBodyReading.SeenKeys.linearLimit
        for count in [1, limit - 1, limit, limit + 1, 3 * limit] {
            let keys = (0..<count).map { "k\($0)" }
            let distinct = "{" + keys.map { "\"\($0)\":1" }.joined(separator: ",") + ",\"model\":\"m\"}"
            #expect(model(distinct) == .model("m"), "\(count) keys")
            for repeated in [0, count / 2, count - 1] {
                // Given again as it was, and escaped (`\u006b` is `k`).
                for again in [keys[repeated], "\\u006b" + keys[repeated].dropFirst()] {
                    let text = "{" + (keys + [again]).map { "\"\($0)\":1" }.joined(separator: ",") + "}"
                    guard case .refused = model(text) else {
                        Issue.record("key \(repeated) of \(count) given again as \(again) was accepted")
                        continue
                    }
                }
            }
        }
    }
}
