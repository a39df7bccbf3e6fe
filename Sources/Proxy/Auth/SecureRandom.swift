import COpenSSL

/// Random bytes from OpenSSL's CSPRNG, for secrets: API keys, the per-process
/// HMAC key, console session ids and CSRF tokens.
enum SecureRandom {
    /// `count` random bytes. Without randomness there is no safe secret;
    /// OpenSSL only fails here if the system has no entropy source, so it stops the process.
    static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return bytes
    }

    /// `count` random bytes as unpadded base64url text (``APIKey``'s alphabet: safe in URLs, cookies and forms).
    static func token(bytes count: Int) -> String {
        APIKey.base64URL(Self.bytes(count))
    }
}
