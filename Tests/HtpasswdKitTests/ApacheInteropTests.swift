import Foundation
import Testing
import HtpasswdKit

/// Files written by Apache's own `htpasswd` (apache2-utils) verify in HtpasswdKit,
/// and files written by `swift-htpasswd` verify with `htpasswd -v`.
@Suite struct ApacheInteropTests {
    static let apacheFormats: [([String], HashFormat)] = [
        (["-B"], .bcrypt),
        (["-B", "-C", "12"], .bcrypt),
        (["-m"], .apr1),
        (["-s"], .sha1),
        (["-5"], .sha512Crypt),
        (["-2"], .sha256Crypt),
        (["-5", "-r", "12000"], .sha512Crypt),
        (["-d"], .des),
    ]

    @Test("Apache htpasswd's hashes verify", arguments: apacheFormats)
    func apacheFileVerifies(flags: [String], format: HashFormat) throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        // DES reads only 8 characters, so keep the password within them.
        let password = TestSupport.randomPassword(length: format == .des ? 8 : 20)
        let other = TestSupport.randomPassword(length: 12)
        let create = try TestSupport.run("htpasswd", ["-cb"] + flags + [path, "alice", password])
        #expect(create.status == 0, "\(create.standardError)")
        try TestSupport.run("htpasswd", ["-b"] + flags + [path, "bob", other])

        let file = try HtpasswdFile(contentsOfFile: path)
        #expect(file.diagnostics.isEmpty)
        #expect(file.users == ["alice", "bob"])
        let entry = try #require(file.entry(for: "alice"))
        #expect(try entry.hash.get().format == format)
        #expect(file.verify(user: "alice", password: password) == .verified)
        #expect(file.verify(user: "alice", password: other) == .wrongPassword)
        #expect(file.verify(user: "bob", password: other) == .verified)
        #expect(file.verify(user: "carol", password: password) == .unknownUser)
    }

    @Test func apachePlainTextIsRefused() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        try TestSupport.run("htpasswd", ["-cbp", path, "alice", "plain-secret"])

        let file = try HtpasswdFile(contentsOfFile: path)
        let diagnostic = try #require(file.diagnostics.first)
        #expect(diagnostic.kind == .unusableHash)
        #expect(diagnostic.lineNumber == 1)
        #expect(diagnostic.message.contains("plain"))
        #expect(!diagnostic.message.contains("plain-secret"))
        guard case .unusableHash(let error) = file.verify(user: "alice", password: "plain-secret") else {
            Issue.record("a plain-text entry must not verify")
            return
        }
        #expect(error.code == .plainText)
    }

    @Test("swift-htpasswd's hashes verify with htpasswd -v", arguments: [
        ["-B"], ["-B", "-C", "4"], ["-m"], ["-5"], ["-2"], ["-s"], ["-2", "-r", "20000"],
    ])
    func swiftFileVerifiesWithApache(flags: [String]) throws {
        let tool = try TestSupport.swiftHtpasswd()
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        let password = TestSupport.randomPassword()
        let create = try TestSupport.run(tool, ["-cb"] + flags + [path, "alice", password])
        #expect(create.status == 0, "\(create.standardError)")
        #expect(create.standardError == "Adding password for user alice\n")

        let good = try TestSupport.run("htpasswd", ["-vb", path, "alice", password])
        #expect(good.status == 0, "\(good.standardError)")
        let bad = try TestSupport.run("htpasswd", ["-vb", path, "alice", password + "x"])
        #expect(bad.status == 3)
    }

    @Test func combinedFlagsAndStandardInputMatchApache() throws {
        let tool = try TestSupport.swiftHtpasswd()
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        let password = TestSupport.randomPassword()
        #expect(try TestSupport.run(tool, ["-cbBC5", path, "alice", password]).status == 0)
        #expect(try TestSupport.run(tool, ["-i", path, "bob"], input: Array("\(password)\n".utf8)).status == 0)
        #expect(try TestSupport.run(tool, ["-im", path, "carol"], input: Array("\(password)\r\n".utf8)).status == 0)
        let text = String(decoding: try TestSupport.readFile(path), as: UTF8.self)
        #expect(text.hasPrefix("alice:$2y$05$"))
        #expect(text.contains("carol:$apr1$"))
        for user in ["alice", "bob", "carol"] {
            #expect(try TestSupport.run("htpasswd", ["-vb", path, user, password]).status == 0)
            // And swift-htpasswd agrees, with Apache's messages.
            let verify = try TestSupport.run(tool, ["-vb", path, user, password])
            #expect(verify.status == 0)
            #expect(verify.standardError == "Password for user \(user) correct.\n")
        }
    }

    @Test func updateKeepsEveryOtherLineAndMode() throws {
        let tool = try TestSupport.swiftHtpasswd()
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        let password = TestSupport.randomPassword()
        try TestSupport.run("htpasswd", ["-cbm", path, "alice", "old"])
        try TestSupport.run("htpasswd", ["-bs", path, "bob", password])
        var original = try TestSupport.readFile(path)
        original = Array("# team accounts\r\n\n".utf8) + original + Array("   \n# end\n".utf8)
        try TestSupport.writeFile(path, original)
        chmod(path, 0o640)

        let update = try TestSupport.run(tool, ["-b", path, "alice", password])
        #expect(update.status == 0)
        #expect(update.standardError == "Updating password for user alice\n")
        // Split bytes, not Characters: Swift treats "\r\n" as one Character.
        let lines = try TestSupport.readFile(path).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        #expect(lines[0] == "# team accounts\r")
        #expect(lines[1] == "")
        #expect(lines[2].hasPrefix("alice:$2y$10$"))
        #expect(lines[3].hasPrefix("bob:{SHA}"))
        #expect(lines[4] == "   ")
        #expect(lines[5] == "# end")
        var status = stat()
        stat(path, &status)
        #expect(status.st_mode & 0o777 == 0o640)
        #expect(try TestSupport.run("htpasswd", ["-vb", path, "alice", password]).status == 0)

        // Delete keeps the rest too; Apache's tool still reads the file.
        let delete = try TestSupport.run(tool, ["-D", path, "alice"])
        #expect(delete.status == 0)
        #expect(delete.standardError == "Deleting password for user alice\n")
        #expect(try TestSupport.run("htpasswd", ["-vb", path, "bob", password]).status == 0)
        #expect(try TestSupport.run("htpasswd", ["-vb", path, "alice", password]).status == 6)
        let remaining = String(decoding: try TestSupport.readFile(path), as: UTF8.self)
        #expect(remaining == "# team accounts\r\n\nbob:" + remaining.split(separator: "bob:")[1])
    }

    @Test func newFileIsPrivate() throws {
        let tool = try TestSupport.swiftHtpasswd()
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        #expect(try TestSupport.run(tool, ["-cb", path, "alice", "pw"]).status == 0)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["users"])
    }

    static let exitCases: [([String], Int32)] = [
        (["-b", "MISSING", "u", "p"], 1),
        (["-x", "FILE", "u"], 2),
        (["-cn", "FILE", "u"], 2),
        (["-b", "FILE", "u"], 2),
        (["-vb", "FILE", "alice", "wrong"], 3),
        (["-nb", "u", String(repeating: "a", count: 300)], 5),
        (["-nb", String(repeating: "u", count: 300), "p"], 5),
        (["-nb", "u:x", "p"], 6),
        (["-vb", "FILE", "nobody", "pw"], 6),
        (["-b", "INVALID", "u", "p"], 7),
        (["-vb", "FILE", "alice", "right"], 0),
        (["-D", "FILE", "nobody"], 0),
    ]

    @Test("exit codes match Apache htpasswd", arguments: exitCases)
    func exitCodes(arguments: [String], expected: Int32) throws {
        let tool = try TestSupport.swiftHtpasswd()
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        try TestSupport.run("htpasswd", ["-cbB", "-C", "4", directory + "/file", "alice", "right"])
        try TestSupport.writeFile(directory + "/invalid", Array("garbage line\n".utf8))
        let substituted = arguments.map { argument in
            switch argument {
            case "FILE": directory + "/file"
            case "INVALID": directory + "/invalid"
            case "MISSING": directory + "/missing"
            default: argument
            }
        }
        let apache = try TestSupport.run("htpasswd", substituted)
        #expect(apache.status == expected, "Apache's htpasswd: \(apache.standardError)")
        let ours = try TestSupport.run(tool, substituted)
        #expect(ours.status == expected, "swift-htpasswd: \(ours.standardError)")
    }
}
