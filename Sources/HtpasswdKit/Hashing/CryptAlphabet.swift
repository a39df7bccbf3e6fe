/// The 64-character alphabet of crypt(3) salts and hashes (`./0-9A-Za-z`),
/// and the little-endian 6-bit encoding MD5-crypt and apr1 use with it.
enum CryptAlphabet {
    static let characters: [UInt8] = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func contains(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "/"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "a")...UInt8(ascii: "z"):
            true
        default:
            false
        }
    }

    /// Whether every byte of `text` is in the alphabet.
    static func containsAll(_ text: some StringProtocol) -> Bool {
        text.utf8.allSatisfy(contains)
    }

    /// Appends `count` characters encoding the low bits of `value`, least significant first.
    static func append(_ value: UInt32, count: Int, to output: inout [UInt8]) {
        var value = value
        for _ in 0..<count {
            output.append(characters[Int(value & 0x3f)])
            value >>= 6
        }
    }

    /// `count` random characters from the alphabet, for salts.
    static func randomString(count: Int) throws(HtpasswdError) -> String {
        let bytes = try SecureBytes.random(count: count)
        // 256 is a multiple of 64, so taking the low 6 bits is unbiased.
        return String(decoding: bytes.map { characters[Int($0 & 0x3f)] }, as: UTF8.self)
    }
}
