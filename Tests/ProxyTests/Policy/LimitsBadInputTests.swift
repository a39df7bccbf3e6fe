import Foundation
import Testing
@testable import Proxy

/// Malformed limits in the keys file and the users' limits file, and keys
/// files edited with unknown fields: each a clear error naming the line and
/// the field, at start; on a reload, the policy in force is kept and the
/// log line says why.
@Suite struct LimitsBadInputTests {
    static let quotaFields = ["tokens_per_minute", "tokens_per_day", "tokens_per_month", "max_concurrent"]
    static let badValues = ["", "0", "-1", "abc", "1.5", "1e3", "0x10", "99999999999999999999", "1125899906842625", "１２"]

    /// A keys file of a few keys, one of which carries `field` on line `line`.
    func keysFile(badField field: String) -> (text: String, line: Int) {
        var file = APIKeyFile()
        for name in ["a", "b", "c"] {
            var (_, key) = APIKey.generate(name: name, scope: .inference, expires: nil)
            key.limits = IdentityLimits(models: [ModelPattern("m")!])
            file.keys.append(key)
        }
        var lines = file.serialized().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let line = lines.firstIndex { $0.hasPrefix("b ") }!
        lines[line] += " " + field
        return (lines.joined(separator: "\n"), line + 1)
    }

    @Test func everyMalformedQuotaValueIsAnErrorNamingTheLineAndTheField() {
        for name in Self.quotaFields {
            for value in Self.badValues {
                let field = "\(name)=\(value)"
                let (text, line) = self.keysFile(badField: field)
                #expect {
                    _ = try APIKeyFile(text: text)
                } throws: { error in
                    let description = "\(error)"
                    return description.contains("line \(line):") && description.contains(name) && description.contains("'\(value)'")
                }
                #expect {
                    _ = try UserLimitsFile(text: "# USER LIMITS\nalice models=m\nbob \(field)\n")
                } throws: { error in
                    "\(error)".contains("line 3:") && "\(error)".contains(name)
                }
            }
        }
    }

    @Test func unknownFieldsAreErrorsNamingTheLineAndTheField() {
        for field in ["max_concurency=1", "tokens_per_hour=5", "model=m", "Models=m", "quota", "=1"] {
            let (text, line) = self.keysFile(badField: field)
            #expect {
                _ = try APIKeyFile(text: text)
            } throws: { error in
                let name = String(field.prefix { $0 != "=" })
                return "\(error)".contains("line \(line):") && "\(error)".contains("'\(name.isEmpty ? field : name)")
            }
        }
    }

    @Test func aKeysFileWithAnUnknownFieldStopsTheStartAndAReloadKeepsThePolicy() throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let (bad, line) = self.keysFile(badField: "tokens_per_minit=200")
        try bad.write(toFile: fixtures.keysPath, atomically: true, encoding: .utf8)
        #expect {
            _ = try fixtures.control()
        } throws: { error in
            "\(error)".contains(fixtures.keysPath) && "\(error)".contains("line \(line):")
                && "\(error)".contains("'tokens_per_minit'")
        }

        var file = APIKeyFile()
        var (_, key) = APIKey.generate(name: "ci", scope: .inference, expires: nil)
        key.limits = IdentityLimits(tokenQuotas: [.minute: 200])
        file.keys = [key]
        try file.write(to: fixtures.keysPath)
        let log = CapturedLog()
        let control = try fixtures.control(logger: log.logger())
        #expect(control.identityPolicy(for: "key:ci")?.limits.tokenQuotas == [.minute: 200])

        let edited = file.serialized().replacingOccurrences(of: "tokens_per_minute=200", with: "tokens_per_minute=200 tokens_per_minit=5")
        try edited.write(toFile: fixtures.keysPath, atomically: true, encoding: .utf8)
        #expect(!control.reload(), "a keys file with an unknown field was loaded")
        #expect(control.identityPolicy(for: "key:ci")?.limits.tokenQuotas == [.minute: 200], "the policy in force was dropped")
        #expect(log.text.contains("access.reload_failed") && log.text.contains("line 3:") && log.text.contains("tokens_per_minit"))

        try file.serialized().replacingOccurrences(of: "tokens_per_minute=200", with: "tokens_per_minute=-200").write(
            toFile: fixtures.keysPath, atomically: true, encoding: .utf8)
        #expect(!control.reload(), "a negative quota was loaded")
        #expect(control.identityPolicy(for: "key:ci")?.limits.tokenQuotas == [.minute: 200])
    }
}
