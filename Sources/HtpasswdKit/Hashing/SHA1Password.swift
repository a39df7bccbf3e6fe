#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The LDAP-style `{SHA}` and `{SSHA}` hashes: base64 of SHA-1(password),
/// or of SHA-1(password + salt) followed by the salt.
enum SHA1Password {
    static let plainPrefix = "{SHA}"
    static let saltedPrefix = "{SSHA}"
    static let digestLength = 20

    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        MessageDigest.sha1.digest(bytes)
    }

    static func hash(password: [UInt8]) -> String {
        plainPrefix + Data(digest(password)).base64EncodedString()
    }

    static func hash(password: [UInt8], salt: [UInt8]) -> String {
        saltedPrefix + Data(digest(password + salt) + salt).base64EncodedString()
    }

    /// The decoded bytes after the prefix, or nil when they are not base64.
    static func decode(_ base64: Substring) -> [UInt8]? {
        Data(base64Encoded: String(base64)).map(Array.init)
    }
}
