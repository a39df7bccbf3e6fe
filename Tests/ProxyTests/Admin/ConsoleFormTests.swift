import Foundation
import Testing
@testable import Proxy

/// Form bodies read against Foundation's percent-encoding (an independent encoder).
@Suite struct ConsoleFormTests {
    @Test func randomFieldsRoundTripThroughFoundationsEncoding() throws {
        let alphabet = Array("ab &=+%?/#;:<>\"'\\ é€😀\u{0}\n\t") + ["x"]
        // What a browser leaves as it is in a form body; everything else is percent-encoded.
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        for _ in 0..<300 {
            var fields: [String: String] = [:]
            for index in 0..<Int.random(in: 0...5) {
                let value = String((0..<Int.random(in: 0...12)).map { _ in alphabet.randomElement()! })
                fields["f\(index)" + String((0..<Int.random(in: 0...3)).map { _ in alphabet.randomElement()! })] = value
            }
            let body = fields.map { name, value in
                [name, value].map { $0.addingPercentEncoding(withAllowedCharacters: allowed)! }.joined(separator: "=")
            }.joined(separator: "&")
            let form = try #require(ConsoleForm(body: Array(body.utf8)), "\(body)")
            #expect(form.fields == fields, "\(body)")
        }
    }

    @Test func browserSpellingsAndWhatIsRefused() throws {
        let form = try #require(ConsoleForm(body: Array("user=a+b&password=p%2Bq%3D&empty=&flag".utf8)))
        #expect(form["user"] == "a b" && form["password"] == "p+q=" && form["empty"] == "" && form["flag"] == "")
        #expect(form.text("empty") == nil && form.text("user") == "a b")
        #expect(ConsoleForm(body: Array("a=1&a=2".utf8)) == nil)  // the same field twice: which one counts is not guessed
        #expect(ConsoleForm(body: Array("a=%4".utf8)) == nil)
        #expect(ConsoleForm(body: Array("a=%zz".utf8)) == nil)
        #expect(ConsoleForm(body: Array("a=%FF%FE".utf8)) == nil)  // not UTF-8
        #expect(ConsoleForm(body: [UInt8](repeating: UInt8(ascii: "a"), count: ConsoleForm.maxBytes + 1)) == nil)
    }

    @Test func keyFormsAreCheckedAsTheKeysFileChecksThem() throws {
        let change = try ConsoleChange(route: .createKey, form: ConsoleForm(fields: [
            "name": "ci", "scope": "inference", "models": "qwen3-*,local", "tokens_per_minute": "200", "priority": "high",
            "max_concurrent": "", "expires": "30d",
        ]))
        guard case .createKey("ci", .inference, "30d", let limits) = change else {
            Issue.record("unexpected \(change)")
            return
        }
        #expect(limits == (try IdentityLimits(fields: ["models=qwen3-*,local", "tokens_per_minute=200", "priority=high"])))
        for bad in [["name": "a b"], ["name": "<script>"], ["name": "ok", "scope": "root"], ["name": "ok", "tokens_per_day": "-1"],
                    ["name": "ok", "max_concurrent": "lots"], ["name": "ok", "priority": "urgent"], [:]] {
            #expect(throws: ConsoleChange.Problem.self, "\(bad)") { try ConsoleChange(route: .createKey, form: ConsoleForm(fields: bad)) }
        }
        for bad in [["user": "a:b", "password": "long enough"], ["user": "alice", "password": "short"], ["password": "long enough"],
                    ["user": "#root", "password": "long enough"], ["user": "tab\tname", "password": "long enough"]] {
            #expect(throws: ConsoleChange.Problem.self, "\(bad)") { try ConsoleChange(route: .addUser, form: ConsoleForm(fields: bad)) }
        }
    }
}
