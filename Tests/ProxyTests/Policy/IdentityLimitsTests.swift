import Testing
@testable import Proxy

/// Model globs, the `name=value` limit fields, and the keys file carrying them.
@Suite struct IdentityLimitsTests {
    @Test func globsMatchWholeNamesCaseSensitively() throws {
        let pattern = try #require(ModelPattern("qwen3-*"))
        #expect(pattern.matches("qwen3-8b"))
        #expect(pattern.matches("qwen3-"))
        #expect(!pattern.matches("Qwen3-8b"), "matching must fail closed on case")
        #expect(!pattern.matches("xqwen3-8b"))
        let exact = try #require(ModelPattern("local-model"))
        #expect(exact.matches("local-model"))
        #expect(!exact.matches("local-model2"))
        let middle = try #require(ModelPattern("a*b?c"))
        #expect(middle.matches("aXXbYc") && middle.matches("abbbc") && !middle.matches("abc"))
        #expect(ModelPattern("") == nil && ModelPattern("a b") == nil && ModelPattern("a,b") == nil)
    }

    @Test func fieldsRoundTripAndUnknownOrRepeatedFieldsAreErrors() throws {
        let limits = try IdentityLimits(fields: ["models=qwen3-*,local-model", "max_concurrent=2"])
        #expect(limits.models?.map(\.text) == ["qwen3-*", "local-model"])
        #expect(limits.maxConcurrent == 2)
        #expect(try IdentityLimits(fields: limits.fields) == limits)
        #expect(limits.allows(model: "local-model") && !limits.allows(model: "other"))
        #expect(IdentityLimits().allows(model: "anything") && IdentityLimits().fields.isEmpty)
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["model=x"]) }
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["max_concurrent=0"]) }
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["max_concurrent=two"]) }
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["models=a", "models=b"]) }
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["models=a,,b"]) }
        #expect(throws: IdentityLimits.Problem.self) { try IdentityLimits(fields: ["models"]) }
    }

    @Test func keysFileKeepsLimitsAndRefusesUnknownOnes() throws {
        var (_, key) = APIKey.generate(name: "ci", scope: .inference, expires: nil)
        key.limits = IdentityLimits(models: [ModelPattern("qwen3-*")!], maxConcurrent: 3)
        let text = APIKeyFile(keys: [key]).serialized()
        #expect(text.contains(" models=qwen3-* max_concurrent=3\n"))
        let read = try #require(try APIKeyFile(text: text).keys.first)
        #expect(read.name == "ci" && read.digest == key.digest && read.limits == key.limits)
        let typo = text.replacingOccurrences(of: "max_concurrent=3", with: "max_concurrnt=3")
        #expect(throws: APIKeyFile.Problem.self) { try APIKeyFile(text: typo) }
        // Saved with Windows line ends, the same file.
        let crlf = try APIKeyFile(text: "# KEYS\r\n" + text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(crlf.keys.map(\.digest) == [key.digest] && crlf.keys.first?.limits == key.limits)
    }

    @Test func userLimitsFileParsesUsersAndRefusesRepeatsAndTypos() throws {
        let file = try UserLimitsFile(text: "# USER LIMITS\nalice models=local-model\nbob max_concurrent=1\n\n")
        #expect(file.limits["alice"]?.models?.map(\.text) == ["local-model"])
        #expect(file.limits["bob"]?.maxConcurrent == 1)
        #expect(try UserLimitsFile(text: "# USER LIMITS\r\nalice models=local-model\r\nbob max_concurrent=1\r\n") == file)
        #expect(throws: IdentityLimits.Problem.self) { try UserLimitsFile(text: "alice models=a\nalice models=b\n") }
        #expect(throws: IdentityLimits.Problem.self) { try UserLimitsFile(text: "alice modles=a\n") }
    }
}
