#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL

/// A freshly made self-signed server certificate and its private key, for
/// the first start of a proxy that has no certificate yet (`lmgate cert`).
public struct SelfSignedCertificate: Sendable {
    /// The key algorithm.
    public enum KeyType: String, Sendable, CaseIterable {
        /// ECDSA on NIST P-256 (the default: small and fast).
        case ecP256 = "ec"
        /// RSA with a 2048-bit modulus, for clients without ECDSA.
        case rsa2048 = "rsa"
    }

    /// The certificate, PEM.
    public let certificatePEM: String
    /// The unencrypted PKCS #8 private key, PEM.
    public let privateKeyPEM: String
    /// SHA-256 fingerprint of the certificate, colon-separated uppercase hex.
    public let sha256Fingerprint: String

    /// Makes a key pair and a certificate signed by it.
    ///
    /// - Parameters:
    ///   - names: what goes into subjectAltName; the first DNS name (or
    ///     address) is also the subject's common name.
    ///   - validityDays: at most 366 keeps within Mozilla's profiles.
    public static func generate(
        names: CertificateSubjectNames,
        keyType: KeyType = .ecP256,
        validityDays: Int = 365
    ) throws -> SelfSignedCertificate {
        let dnsNames = names.dnsNames.filter(CertificateSubjectNames.isValidDNSName)
        let addresses = names.ipAddresses.filter(CertificateSubjectNames.isValidIPAddress)
        guard let commonName = dnsNames.first ?? addresses.first else {
            throw TLSError(.certificateGenerationFailed, "no valid DNS name or IP address to certify")
        }
        guard (1...3650).contains(validityDays) else {
            throw TLSError(.certificateGenerationFailed, "validity must be 1 to 3650 days")
        }
        OpenSSLErrorQueue.clear()
        let key: OpaquePointer? = switch keyType {
        case .ecP256: lmgate_EVP_EC_gen_P256()
        case .rsa2048: lmgate_EVP_RSA_gen(2048)
        }
        guard let key else { throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "key generation") }
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "X509_new") }
        defer { X509_free(certificate) }

        func check(_ ok: Bool, _ step: String) throws {
            if !ok { throw OpenSSLErrorQueue.error(.certificateGenerationFailed, step) }
        }
        try check(X509_set_version(certificate, 2) == 1, "version")
        try setRandomSerial(certificate)
        try check(X509_gmtime_adj(X509_getm_notBefore(certificate), 0) != nil, "notBefore")
        try check(X509_gmtime_adj(X509_getm_notAfter(certificate), validityDays * 86_400) != nil, "notAfter")
        try check(X509_set_pubkey(certificate, key) == 1, "public key")
        let subject = X509_get_subject_name(certificate)
        try check(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, "lmgate", -1, -1, 0) == 1, "subject O")
        try check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1, "subject CN")
        try check(X509_set_issuer_name(certificate, subject) == 1, "issuer")

        let keyUsage = keyType == .rsa2048 ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"
        let alternativeNames = (dnsNames.map { "DNS:\($0)" } + addresses.map { "IP:\($0)" }).joined(separator: ",")
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, keyUsage),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
            (NID_subject_alt_name, alternativeNames),
        ]
        for (nid, value) in extensions {
            try check(lmgate_X509_add_extension_text(certificate, nid, value) == 1, "extension \(value)")
        }
        try check(X509_sign(certificate, key, EVP_sha256()) > 0, "signing")

        let certificatePEM = try pem { PEM_write_bio_X509($0, certificate) }
        let privateKeyPEM = try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        return SelfSignedCertificate(
            certificatePEM: certificatePEM,
            privateKeyPEM: privateKeyPEM,
            sha256Fingerprint: CertificateFingerprint.sha256(of: certificate))
    }

    /// Writes the certificate (mode 0644) and the key (mode 0600, also when
    /// the file already existed with wider permissions).
    public func write(certificatePath: String, privateKeyPath: String) throws {
        try Self.writeFile(privateKeyPath, privateKeyPEM, mode: 0o600)
        try Self.writeFile(certificatePath, certificatePEM, mode: 0o644)
    }

    private static func writeFile(_ path: String, _ contents: String, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw TLSError(.certificateGenerationFailed, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode) == 0 else {
            throw TLSError(.certificateGenerationFailed, "cannot set mode of \(path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                throw TLSError(.certificateGenerationFailed, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }

    private static func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(descriptor, bytes, count)
        #else
        Darwin.write(descriptor, bytes, count)
        #endif
    }

    private static func setRandomSerial(_ certificate: OpaquePointer) throws {
        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else {
            throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "random serial")
        }
        serial[0] &= 0x7F  // positive, as RFC 5280 requires
        guard let number = BN_bin2bn(serial, Int32(serial.count), nil) else {
            throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "serial")
        }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil else {
            throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "serial")
        }
    }

    private static func pem(_ writer: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "BIO_new") }
        defer { BIO_free(bio) }
        guard writer(bio) == 1 else { throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "PEM encoding") }
        var data: UnsafeMutablePointer<CChar>?
        let length = lmgate_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { throw OpenSSLErrorQueue.error(.certificateGenerationFailed, "PEM encoding") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}
