import Foundation
import Testing
@testable import Proxy

/// `auth.api_key`'s key goes by `key:main`, the name `lmgate serve`'s first
/// run also gives the key it writes to a keys file: the two must never be
/// taken for each other.
@Suite struct ConfigurationKeyTests {
    @Test func aKeysFileKeyNamedMainBesideAuthAPIKeyIsRefusedWithTheReason() throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        _ = try fixtures.addKey("main", scope: .admin)
        // Both would be `key:main` to limits, usage and the logs.
        #expect {
            _ = try fixtures.control { $0.apiKey = "made-at-test-time-\(UUID().uuidString)" }
        } throws: { error in
            "\(error)".contains("has a key named 'main'") && "\(error)".contains("auth.api_key")
        }
        // Without auth.api_key the same file loads.
        _ = try fixtures.control()
    }

    @Test func theUseOfAKeysFileKeyNamedMainIsRecordedButNotTheConfiguredKeys() async throws {
        let fixtures = try AccessFixtures.make(users: ["alice"])
        defer { fixtures.remove() }
        let main = try fixtures.addKey("main", scope: .admin)
        let fromFile = try fixtures.control()
        #expect(try await fromFile.decide([("x-api-key", main)]).status == .ok)
        fromFile.stop()
        #expect(APIKeyUsage.read(APIKeyUsage.path(forKeysFile: fixtures.keysPath)).keys.sorted() == ["main"])

        // The configured key is not in the keys file, so its uses are not written beside it.
        try FileManager.default.removeItem(atPath: fixtures.keysPath)
        try FileManager.default.removeItem(atPath: APIKeyUsage.path(forKeysFile: fixtures.keysPath))
        let configured = "made-at-test-time-\(UUID().uuidString)"
        let other = try fixtures.addKey("laptop")
        let fromConfiguration = try fixtures.control { $0.apiKey = configured }
        #expect(try await fromConfiguration.decide([("x-api-key", configured)]).status == .ok)
        #expect(try await fromConfiguration.decide([("x-api-key", other)]).status == .ok)
        fromConfiguration.stop()
        #expect(APIKeyUsage.read(APIKeyUsage.path(forKeysFile: fixtures.keysPath)).keys.sorted() == ["laptop"])
    }
}
