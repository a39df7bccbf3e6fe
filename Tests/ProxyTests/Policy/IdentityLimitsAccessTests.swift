import Foundation
import Testing
@testable import Proxy

/// Limits from the keys file and the users' limits file reach admission,
/// follow reloads, and a bad file keeps the limits in force.
@Suite struct IdentityLimitsAccessTests {
    @Test func keyAndUserLimitsAreFoundByIdentityAndReloaded() throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        var file = APIKeyFile()
        var (_, limited) = APIKey.generate(name: "ci", scope: .inference, expires: nil)
        limited.limits = IdentityLimits(models: [ModelPattern("local-model")!])
        let (_, open) = APIKey.generate(name: "laptop", scope: .inference, expires: nil)
        file.keys = [limited, open]
        try file.write(to: fixtures.keysPath)
        let usersPath = fixtures.directory.appendingPathComponent("user-limits").path
        try "alice max_concurrent=2\n".write(toFile: usersPath, atomically: true, encoding: .utf8)

        let control = try fixtures.control { $0.userLimitsPath = usersPath }
        #expect(control.identityPolicy(for: "key:ci")?.limits.models?.map(\.text) == ["local-model"])
        #expect(control.identityPolicy(for: "key:laptop") == nil)
        #expect(control.identityPolicy(for: "alice")?.limits.maxConcurrent == 2)

        try "alice max_concurrent=5\n".write(toFile: usersPath, atomically: true, encoding: .utf8)
        #expect(control.reload())
        #expect(control.identityPolicy(for: "alice")?.limits.maxConcurrent == 5)

        try "alice max_concurrency=1\n".write(toFile: usersPath, atomically: true, encoding: .utf8)
        #expect(!control.reload(), "a typo in a limit was accepted")
        #expect(control.identityPolicy(for: "alice")?.limits.maxConcurrent == 5, "the limits in force were dropped")
    }

    @Test func aBadUsersLimitsFileStopsTheStartWithAClearError() throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let usersPath = fixtures.directory.appendingPathComponent("user-limits").path
        try "alice models=\n".write(toFile: usersPath, atomically: true, encoding: .utf8)
        #expect {
            _ = try fixtures.control { $0.userLimitsPath = usersPath }
        } throws: { error in
            "\(error)".contains("users' limits file") && "\(error)".contains("line 1")
        }
    }
}
