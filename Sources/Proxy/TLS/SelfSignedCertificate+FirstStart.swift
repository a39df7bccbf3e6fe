#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SelfSignedCertificate {
    /// The first-start path: when neither file exists, makes a certificate
    /// for this host (``CertificateSubjectNames/forThisHost()``) and writes
    /// both; when both exist, leaves them alone.
    ///
    /// - Returns: the new certificate (so its fingerprint can be shown to the
    ///   user), or `nil` if the files were already there.
    /// - Throws: ``TLSError`` if only one of the two files exists (a lone key
    ///   or certificate is never overwritten), or if writing fails.
    public static func createIfMissing(
        _ files: TLSCertificateFiles, keyType: KeyType = .ecP256
    ) throws -> SelfSignedCertificate? {
        let certificateExists = access(files.certificateChainPath, F_OK) == 0
        let keyExists = access(files.privateKeyPath, F_OK) == 0
        switch (certificateExists, keyExists) {
        case (true, true):
            return nil
        case (false, false):
            let certificate = try generate(names: .forThisHost(), keyType: keyType)
            try certificate.write(certificatePath: files.certificateChainPath, privateKeyPath: files.privateKeyPath)
            return certificate
        case (true, false), (false, true):
            let present = certificateExists ? files.certificateChainPath : files.privateKeyPath
            let absent = certificateExists ? files.privateKeyPath : files.certificateChainPath
            throw TLSError(.invalidConfiguration, "\(present) exists but \(absent) does not; not replacing either")
        }
    }
}
