
/// Apache's `$apr1$` hash: the MD5-crypt algorithm with the magic string
/// `$apr1$` instead of `$1$`. libcrypt does not know it, so it is computed here
/// from libcrypto's MD5.
enum APR1 {
    static let magic = "$apr1$"

    /// The full hash string `magic + salt + "$" + 22 characters`.
    /// `salt` is used up to its first `$` and at most 8 bytes, as Apache does.
    static func hash(password: [UInt8], salt: String, magic: String = APR1.magic) -> String {
        let salt = Array(salt.utf8.prefix { $0 != UInt8(ascii: "$") }.prefix(8))
        let magicBytes = Array(magic.utf8)

        // One digest context for all 1002 digests: allocating one per digest
        // made apr1 several times slower than libcrypt's MD5-crypt.
        let context = MessageDigest.Context(.md5)
        let alternate = context.digest(password, salt, password)
        var message = password + magicBytes + salt
        var remaining = password.count
        while remaining > 0 {
            message += alternate.prefix(min(16, remaining))
            remaining -= 16
        }
        // The original code's quirk: a zero byte for set bits, the password's first byte otherwise.
        var bits = password.count
        while bits > 0 {
            message.append(bits & 1 == 1 ? 0 : (password.first ?? 0))
            bits >>= 1
        }
        var digest = context.digest(message)

        // 1000 rounds, "to slow down brute force".
        let none: [UInt8] = []
        for round in 0..<1000 {
            let odd = round & 1 == 1
            digest = context.digest(
                odd ? password : digest,
                round % 3 != 0 ? salt : none,
                round % 7 != 0 ? password : none,
                odd ? digest : password
            )
        }

        var output = magicBytes + salt + [UInt8(ascii: "$")]
        func group(_ a: Int, _ b: Int, _ c: Int) {
            let value = UInt32(digest[a]) << 16 | UInt32(digest[b]) << 8 | UInt32(digest[c])
            CryptAlphabet.append(value, count: 4, to: &output)
        }
        group(0, 6, 12)
        group(1, 7, 13)
        group(2, 8, 14)
        group(3, 9, 15)
        group(4, 10, 5)
        CryptAlphabet.append(UInt32(digest[11]), count: 2, to: &output)
        return String(decoding: output, as: UTF8.self)
    }
}
