import Foundation
import Testing
import HtpasswdKit

/// Damaged, hostile and oversized input is reported, never a crash.
@Suite struct BadInputTests {
    static let rejectedHashes: [(String, HtpasswdError.Code)] = [
        ("$2y$10$odWXp7QRisiHwTm.l9lP4.N6SByJao0ZUmaPwUO3K65W5RvRdSpK", .malformedHash),  // truncated
        ("$2y$10$odWXp7QRisiHwTm.l9lP4.N6SByJao0ZUmaPwUO3K65W5RvRd!pK2", .malformedHash), // corrupted
        ("$2y$1x$odWXp7QRisiHwTm.l9lP4.N6SByJao0ZUmaPwUO3K65W5RvRdSpK2", .malformedHash),
        ("$2y$03$odWXp7QRisiHwTm.l9lP4.N6SByJao0ZUmaPwUO3K65W5RvRdSpK2", .costOutOfRange),
        ("$2y$32$odWXp7QRisiHwTm.l9lP4.N6SByJao0ZUmaPwUO3K65W5RvRdSpK2", .costOutOfRange),
        ("$2z$10$odWXp7QRisiHwTm.l9lP4.N6SByJao0ZUmaPwUO3K65W5RvRdSpK2", .unknownFormat),
        ("$apr1$salt$Xxd1irWT9ycqoYxGFn4c", .malformedHash),
        ("$apr1$toolongsalt$Xxd1irWT9ycqoYxGFn4cb.", .malformedHash),
        ("$1$saltstri$qQY4WxjABChYG1ccLpfkz", .malformedHash),
        ("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc", .malformedHash),
        ("$5$rounds=10$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", .costOutOfRange),
        ("$6$rounds=x$saltstring$5B8vYYiY", .malformedHash),
        ("$6$saltstring$", .malformedHash),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g", .malformedHash),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=AAAA", .malformedHash),
        ("{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhR=", .malformedHash),
        ("{SSHA}not base64!", .malformedHash),
        ("$y$j9T$abc$def", .unknownFormat),
        ("$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA", .unknownFormat),
        ("{MD5}X03MO1qnZdYdgyfeuILPmQ==", .unknownFormat),
        ("$", .unknownFormat),
        ("secret", .plainText),
        ("", .plainText),
        ("abJnggxhB/yW!", .plainText),
    ]

    @Test("truncated, corrupted and unknown hashes are refused", arguments: rejectedHashes)
    func rejectedHash(stored: String, code: HtpasswdError.Code) {
        do {
            let hash = try PasswordHash(stored)
            Issue.record("accepted as \(hash.format)")
        } catch {
            #expect(error.code == code, "\(error.message)")
            #expect(!error.message.isEmpty)
        }
        // In a file, the same line is reported with its number and the user cannot log in.
        let file = HtpasswdFile(contents: Array("# first\nmallory:\(stored)\n".utf8))
        #expect(file.diagnostics.map(\.lineNumber) == [2])
        #expect(file.diagnostics.first?.kind == .unusableHash)
        #expect(!file.verify(user: "mallory", password: "secret").isVerified)
        #expect(!file.verify(user: "mallory", password: "").isVerified)
    }

    @Test func nonUTF8BytesAreReportedAndKept() {
        let bytes: [UInt8] = Array("ok:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n".utf8)
            + [0x75, 0xFF, 0x3A] + Array("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n".utf8)  // user "u\xFF"
            + Array("bad:".utf8) + [0xC3, 0x28] + [0x0A]                                // hash not UTF-8
            + [0x23, 0xFE, 0x0A]                                                         // comment, any bytes
        let file = HtpasswdFile(contents: bytes)
        #expect(file.users == ["ok", "bad"])
        #expect(file.diagnostics.map { "\($0.lineNumber) \($0.kind)" } == ["2 malformedLine", "3 unusableHash"])
        #expect(file.verify(user: "ok", password: "password") == .verified)
        #expect(file.serialized() == bytes)
    }

    @Test func tenMegabyteFileIsParsed() throws {
        let hash = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10_500_000)
        var count = 0
        while bytes.count < 10_000_000 {
            bytes += Array("user\(count):\(hash)\n".utf8)
            count += 1
        }
        // A last line of junk without a line feed.
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        let file = HtpasswdFile(contents: bytes)
        #expect(file.entries.count == count)
        #expect(file.users.count == count)
        #expect(file.diagnostics.count == 1)
        #expect(file.diagnostics.first?.lineNumber == count + 1)
        #expect(file.verify(user: "user\(count - 1)", password: "password") == .verified)
    }

    @Test func missingFileAndDirectoryAreReported() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        // Tests run as root, for whom permission bits do not stop reading: a directory does.
        for path in [directory + "/missing", directory] {
            do {
                _ = try HtpasswdFile(contentsOfFile: path)
                Issue.record("\(path) was read")
            } catch {
                #expect(error.code == .fileUnreadable)
                #expect(error.message.contains(path))
            }
        }
        let tool = try TestSupport.swiftHtpasswd()
        let result = try TestSupport.run(tool, ["-b", directory, "alice", "pw"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("Is a directory"))
    }

    @Test func bcryptPasswordOverSeventyTwoBytesIsRefused() throws {
        let longest = String(repeating: "p", count: 72)
        let hash = try PasswordHasher.hash(longest, format: .bcrypt, cost: 4)
        #expect(PasswordVerifier.verify(password: longest, against: hash))
        do {
            _ = try PasswordHasher.hash(longest + "q", format: .bcrypt, cost: 4)
            Issue.record("a 73-byte password was hashed with bcrypt")
        } catch {
            #expect(error.code == .passwordTooLong)
            #expect(error.message.contains("72"))
        }
        // Multi-byte characters count in bytes: 37 × "é" is 74 bytes.
        #expect(throws: HtpasswdError.self) { try PasswordHasher.hash(String(repeating: "é", count: 37), format: .bcrypt, cost: 4) }
        // Other formats take it.
        let sha = try PasswordHasher.hash(longest + "q", format: .sha512Crypt)
        #expect(PasswordVerifier.verify(password: longest + "q", against: sha))
        #expect(!PasswordVerifier.verify(password: longest, against: sha))

        let tool = try TestSupport.swiftHtpasswd()
        let result = try TestSupport.run(tool, ["-nbB", "u", longest + "q"])
        #expect(result.status == 5)
        #expect(result.standardError.contains("72"))
    }

    @Test func bcryptCostOutOfRangeIsRefused() throws {
        for cost in [0, 3, 18, 31] {
            #expect(throws: HtpasswdError.self) { try PasswordHasher.hash("pw", format: .bcrypt, cost: cost) }
        }
        let tool = try TestSupport.swiftHtpasswd()
        for cost in ["3", "18"] {
            let result = try TestSupport.run(tool, ["-nbB", "-C", cost, "u", "pw"])
            #expect(result.status == 2)
            #expect(result.standardError.contains("between 4 and 17"))
        }
    }

    @Test func passwordWithNULNeverMatches() throws {
        let hash = try PasswordHash("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=")
        #expect(!PasswordVerifier.verify(password: Array("password".utf8) + [0], against: hash))
        let bcrypt = try PasswordHasher.hash("abc", format: .bcrypt, cost: 4)
        // crypt(3) would stop at the NUL and accept "abc\0anything".
        #expect(!PasswordVerifier.verify(password: Array("abc".utf8) + [0, 0x78], against: bcrypt))
        #expect(throws: HtpasswdError.self) { try PasswordHasher.hash(Array("a".utf8) + [0], format: .sha1) }
    }

    @Test("unsupported command-line flags are refused clearly", arguments: ["-nbd", "-nbp"])
    func refusedFlags(flag: String) throws {
        let result = try TestSupport.run(try TestSupport.swiftHtpasswd(), [flag, "u", "pw"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("not supported"))
        #expect(result.standardOutput.isEmpty)
    }
}
