import Foundation
import Gateway
import Testing

/// The per-start key `lmgate serve` shares with its backend and proxy, and
/// the file `lmgate status` reads it from.
@Suite struct BackendKeyTests {
    private func permissions(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func eachStartMakesAnotherUnguessableKey() {
        let first = BackendKey.generate().value
        let second = BackendKey.generate().value
        #expect(first != second)
        // 256 random bits, base64url: 43 characters after the prefix.
        #expect(first.utf8.count >= 43)
    }

    @Test func theKeyFileIsTheOwnersOnlyAndReplacedAtEachStart() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = GatewayHome(directory: root + "/home")
        let path = home.backendKeyFile(port: 1234)
        #expect(path == root + "/home/backend-1234.key")
        #expect(home.backendKeyFile(port: 1235) != path)

        let first = BackendKey.generate()
        try first.write(to: path)
        #expect(try permissions(root + "/home") == 0o700)
        #expect(try permissions(path) == 0o600)
        #expect(BackendKey.read(from: path)?.value == first.value)

        // A file left readable by others (by hand, or by an old version) is replaced, not reused.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let second = BackendKey.generate()
        try second.write(to: path)
        #expect(try permissions(path) == 0o600)
        #expect(BackendKey.read(from: path)?.value == second.value)
        #expect(BackendKey.read(from: root + "/missing") == nil)
    }
}
