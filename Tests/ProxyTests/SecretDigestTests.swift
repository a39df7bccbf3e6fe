import Testing

@testable import Proxy

/// The digests made on every authenticated request, hashed as they go
/// (``SHA256Hasher``), against the same digests of whole byte arrays.
@Suite struct SecretDigestTests {
    private func randomBytes(_ count: ClosedRange<Int>, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<Int.random(in: count, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test func processKeyedHMACIsTheHMACOfTheLengthPrefixedParts() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let key = self.randomBytes(1...100, using: &generator)
            let parts = (0..<Int.random(in: 0...3, using: &generator)).map { _ in self.randomBytes(0...130, using: &generator) }
            var message: [UInt8] = []
            for part in parts {
                let count = UInt32(part.count)
                message += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
                message += part
            }
            let expected = SecretDigest(bytes: SHA256Digester.hmac(key: key, message: message))
            #expect(ProcessKeyedHMAC(key: key).digest(parts: parts) == expected)
        }
    }

    @Test func sha256OfAnyCollectionIsTheDigestOfItsBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let bytes = self.randomBytes(0...300, using: &generator)
            let expected = SecretDigest(bytes: SHA256Digester.digest([Array(bytes.prefix(7)), Array(bytes.dropFirst(7))]))
            let text = String(decoding: bytes.map { $0 & 0x7F }, as: UTF8.self)
            #expect(SecretDigest.sha256(bytes) == expected)
            #expect(SecretDigest.sha256(bytes[...]) == expected)
            // A key arrives as a Substring of its header's value.
            let field = "Bearer " + text
            let key = field.dropFirst("Bearer ".count)
            #expect(SecretDigest.sha256(key.utf8) == SecretDigest.sha256(Array(text.utf8)))
        }
    }
}
