import Foundation
import Testing
import HtpasswdKit

/// Parsing, editing and writing files, with hashes made by Apache's htpasswd or openssl.
@Suite struct HtpasswdFileTests {
    /// A small file as people write them: comments, blank lines, CRLF, trailing spaces.
    static func sampleFile() throws -> (bytes: [UInt8], password: String) {
        let password = TestSupport.randomPassword()
        let sha = try TestSupport.run("htpasswd", ["-nbs", "alice", password]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let apr1 = try TestSupport.run("openssl", ["passwd", "-apr1", password]).standardOutput.trimmingCharacters(in: .newlines)
        let text = "# users\r\n\(sha)  \r\n\r\n  # indented comment\nbob:\(apr1):extra field\n\tcarol:\(apr1)\t\nno colon here\n:emptyuser\nalice:{SHA}ignored-duplicate\n"
        return (Array(text.utf8), password)
    }

    @Test func parsesAsApacheDoes() throws {
        let (bytes, password) = try Self.sampleFile()
        let file = HtpasswdFile(contents: bytes)
        #expect(file.users == ["alice", "bob", "carol"])
        #expect(file.verify(user: "alice", password: password) == .verified)
        #expect(file.verify(user: "bob", password: password) == .verified)
        #expect(file.verify(user: "carol", password: password) == .verified)
        #expect(file.verify(user: "carol", password: password + " ") == .wrongPassword)

        let report = file.diagnostics.map { "\($0.lineNumber) \($0.kind)" }
        #expect(report == ["7 malformedLine", "8 malformedLine", "9 unusableHash", "9 duplicateUser"])
        #expect(file.diagnostics[3].message.contains("line 2"))
        // Unchanged, a parsed file serializes to the same bytes.
        #expect(file.serialized() == bytes)
    }

    @Test func editingKeepsEveryOtherLine() throws {
        let (bytes, password) = try Self.sampleFile()
        var file = HtpasswdFile(contents: bytes)
        let newHash = try PasswordHasher.hash("new password", format: .sha512Crypt)
        let updated = try file.setHash(newHash, for: "alice")
        let added = try file.setHash(newHash, for: "dave")
        let removed = file.removeUser("bob")
        let removedAgain = file.removeUser("bob")
        #expect(updated == .updated)
        #expect(added == .added)
        #expect(removed)
        #expect(!removedAgain)

        let lines = file.serialized().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        #expect(lines == [
            "# users\r", "alice:\(newHash.encoded)", "\r", "  # indented comment", lines[4],
            "no colon here", ":emptyuser", "dave:\(newHash.encoded)", "",
        ])
        #expect(lines[4].hasPrefix("\tcarol:$apr1$"))
        let reread = HtpasswdFile(contents: file.serialized())
        #expect(reread.users == ["alice", "carol", "dave"])
        #expect(reread.verify(user: "alice", password: "new password") == .verified)
        #expect(reread.verify(user: "carol", password: password) == .verified)
        #expect(!reread.diagnostics.contains { $0.kind == .duplicateUser })
    }

    @Test("user names that cannot be stored are refused", arguments: ["a:b", "", "new\nline", "#hash", " padded"])
    func invalidUserNames(user: String) throws {
        var file = HtpasswdFile()
        let hash = try PasswordHasher.hash("pw", format: .sha1)
        do {
            try file.setHash(hash, for: user)
            Issue.record("\(user.debugDescription) was accepted")
        } catch {
            #expect(error.code == .invalidUserName)
        }
        #expect(file.users.isEmpty)
    }

    @Test func writesAtomicallyWithPrivateMode() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = directory + "/users"
        var file = HtpasswdFile()
        try file.setHash(try PasswordHasher.hash("pw", format: .bcrypt, cost: 4), for: "alice")
        try file.write(to: path)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(try TestSupport.run("htpasswd", ["-vb", path, "alice", "pw"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["users"])

        // Writing into a directory that does not exist fails cleanly.
        #expect {
            try file.write(to: directory + "/missing/users")
        } throws: { ($0 as? HtpasswdError)?.code == .fileWriteFailed }
    }

    @Test func unknownUserIsCheckedAgainstTheStrongestHash() throws {
        // Hashes from Apache's tool: a weak SHA-1, bcrypt at costs 4 and 6, apr1.
        var text = ""
        for (user, flags) in [("weak", ["-s"]), ("low", ["-B", "-C", "4"]), ("high", ["-B", "-C", "6"]), ("md5", ["-m"])] {
            text += try TestSupport.run("htpasswd", ["-nb"] + flags + [user, "pw"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        }
        let file = HtpasswdFile(contents: Array(text.utf8))
        let strongest = try #require(file.strongestHash)
        #expect(strongest == (try file.entry(for: "high")?.hash.get()))
        #expect(file.verify(user: "nobody", password: "pw") == .unknownUser)
        // The decoy's answer is thrown away even when the password is that user's.
        #expect(file.verify(user: "nobody", password: "pw").isVerified == false)

        // Edits keep the decoy current.
        var edited = file
        edited.removeUser("high")
        #expect(edited.strongestHash == (try file.entry(for: "low")?.hash.get()))
    }

    @Test func hashesForNewPasswordsVerifyAndAreSalted() throws {
        for format in HashFormat.hashable {
            let first = try PasswordHasher.hash("correct horse", format: format, cost: format == .bcrypt ? 4 : nil)
            let second = try PasswordHasher.hash("correct horse", format: format, cost: format == .bcrypt ? 4 : nil)
            #expect(first.format == format)
            #expect(PasswordVerifier.verify(password: "correct horse", against: first))
            #expect(!PasswordVerifier.verify(password: "correct horsf", against: first))
            // Unsalted {SHA} is the same every time; every other format gets a fresh salt.
            #expect((first == second) == (format == .sha1))
        }
        let rounds = try PasswordHasher.hash("pw", format: .sha256Crypt, cost: 12_000)
        #expect(rounds.encoded.hasPrefix("$5$rounds=12000$"))
        #expect(try PasswordHasher.hash("pw", format: .bcrypt).encoded.hasPrefix("$2y$10$"))
    }
}
