import Foundation
import Testing
@testable import Proxy

/// The keys file is written as the htpasswd file is (``AtomicFileWriter``:
/// temporary file, fsync, rename, fsync of the directory), and is always
/// left readable by its owner only, whatever mode it had.
@Suite struct APIKeyFileWriteTests {
    @Test func aRewrittenKeysFileIsPrivateAndComplete() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-keys-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keys"
        var file = APIKeyFile()
        _ = try file.addKey(named: "laptop", scope: .inference, expires: nil, limits: IdentityLimits())
        try file.write(to: path)
        // Someone opened it up; the next write closes it again.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        _ = try file.addKey(named: "ci", scope: .admin, expires: "30d", limits: IdentityLimits())
        try file.write(to: path)

        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        // What was written reads back as the same text (dates are kept to the second).
        #expect(try APIKeyFile(contentsOfFile: path).serialized() == file.serialized())
        #expect(try APIKeyFile(contentsOfFile: path).keys.map(\.name) == ["laptop", "ci"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["keys"])  // no temporary file left
        #expect {
            try file.write(to: directory + "/missing/keys")
        } throws: { "\($0)".contains("cannot write \(directory)/missing/keys") }
    }
}
