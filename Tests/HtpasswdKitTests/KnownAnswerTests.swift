import Foundation
import Testing
@testable import HtpasswdKit

/// Published test vectors: nginx's own tests (t/auth_basic.t), Ulrich Drepper's
/// SHA-crypt specification, and OpenBSD's bcrypt tests.
@Suite struct KnownAnswerTests {
    @Test("nginx auth_basic vectors", arguments: [
        "$apr1$salt$Xxd1irWT9ycqoYxGFn4cb.",
        "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
        "{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0",
    ])
    func nginxVectors(stored: String) throws {
        let hash = try PasswordHash(stored)
        #expect(PasswordVerifier.verify(password: "password", against: hash))
        #expect(!PasswordVerifier.verify(password: "passwore", against: hash))
        #expect(!PasswordVerifier.verify(password: "", against: hash))
    }

    @Test func apr1IsComputedExactlyAsPublished() {
        #expect(APR1.hash(password: Array("password".utf8), salt: "salt") == "$apr1$salt$Xxd1irWT9ycqoYxGFn4cb.")
    }

    @Test func saltedSHA1MatchesNginxVector() {
        // The nginx {SSHA} vector's salt is the four bytes "salt".
        #expect(SHA1Password.hash(password: Array("password".utf8), salt: Array("salt".utf8)) == "{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0")
    }

    @Test("SHA-crypt specification vectors", arguments: [
        ("Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
        ("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    ])
    func shaCryptVectors(password: String, stored: String) throws {
        let hash = try PasswordHash(stored)
        #expect(hash.cost == 5000)
        #expect(PasswordVerifier.verify(password: password, against: hash))
        #expect(!PasswordVerifier.verify(password: "Hello world?", against: hash))
    }

    @Test func bcryptOpenBSDVector() throws {
        let hash = try PasswordHash("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
        #expect(hash.format == .bcrypt)
        #expect(hash.cost == 5)
        #expect(PasswordVerifier.verify(password: "U*U", against: hash))
        #expect(!PasswordVerifier.verify(password: "U*V", against: hash))
    }

    /// OpenSSL's `passwd` is an independent implementation of apr1 and MD5-crypt.
    @Test func apr1AndMD5CryptAgreeWithOpenSSL() throws {
        for _ in 0..<5 {
            let password = TestSupport.randomPassword(length: Int.random(in: 0...40))
            let salt = String(TestSupport.randomPassword(length: 8))
            let apr1 = try TestSupport.run("openssl", ["passwd", "-apr1", "-salt", salt, password])
            let expected = apr1.standardOutput.trimmingCharacters(in: .newlines)
            #expect(APR1.hash(password: Array(password.utf8), salt: salt) == expected)
            #expect(PasswordVerifier.verify(password: password, against: try PasswordHash(expected)))

            let md5 = try TestSupport.run("openssl", ["passwd", "-1", "-salt", salt, password])
            let md5Hash = try PasswordHash(md5.standardOutput.trimmingCharacters(in: .newlines))
            #expect(md5Hash.format == .md5Crypt)
            #expect(PasswordVerifier.verify(password: password, against: md5Hash))
            #expect(!PasswordVerifier.verify(password: password + "x", against: md5Hash))
        }
    }

    @Test func desCryptVectorFromPerl() throws {
        // perl's crypt() goes through the C library, independently of our wrapper.
        let perl = try TestSupport.run("perl", ["-e", "print crypt('password', 'ab')"])
        let hash = try PasswordHash(perl.standardOutput)
        #expect(hash.format == .des)
        #expect(PasswordVerifier.verify(password: "password", against: hash))
        #expect(!PasswordVerifier.verify(password: "passwort", against: hash))
    }
}
