import COpenSSL

/// Reads an unencrypted PEM private key from disk.
enum PrivateKeyFile {
    /// Returns an owned `EVP_PKEY*`; the caller frees it with `EVP_PKEY_free`.
    static func load(_ path: String) throws -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let file = BIO_new_file(path, "r") else {
            throw OpenSSLErrorQueue.error(.privateKeyUnreadable, path)
        }
        defer { BIO_free(file) }
        guard let key = PEM_read_bio_PrivateKey(file, nil, nil, nil) else {
            throw OpenSSLErrorQueue.error(.privateKeyUnreadable, "\(path) holds no PEM private key")
        }
        return key
    }
}
