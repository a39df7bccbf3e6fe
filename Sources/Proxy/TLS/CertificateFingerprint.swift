import COpenSSL

/// Certificate fingerprints as people compare them: uppercase hex pairs
/// joined by colons, the form `openssl x509 -fingerprint -sha256` prints.
enum CertificateFingerprint {
    /// The SHA-256 fingerprint of the DER encoding of `certificate`.
    static func sha256(of certificate: OpaquePointer?) -> String {
        guard let certificate else { return "" }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { return "" }
        return digest.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}

extension SelfSignedCertificate {
    /// The SHA-256 fingerprint of the first certificate in a PEM file, as
    /// `openssl x509 -fingerprint -sha256` prints it, or `nil` if the file
    /// holds none.
    public static func sha256Fingerprint(ofPEMFile path: String) -> String? {
        guard let file = BIO_new_file(path, "r") else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        defer { BIO_free(file) }
        guard let certificate = PEM_read_bio_X509(file, nil, nil, nil) else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        defer { X509_free(certificate) }
        let fingerprint = CertificateFingerprint.sha256(of: certificate)
        return fingerprint.isEmpty ? nil : fingerprint
    }
}
