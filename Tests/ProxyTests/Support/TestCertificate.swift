import Foundation

/// A self-signed certificate for `localhost` and `127.0.0.1`, made at test
/// time with the `openssl` command in a fresh temporary directory.
struct TestCertificate {
    let directory: URL
    var certificatePath: String { self.directory.appendingPathComponent("cert.pem").path }
    var keyPath: String { self.directory.appendingPathComponent("key.pem").path }

    static func make() throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-cert-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = TestCertificate(directory: directory)
        let output = try ExternalTools.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", certificate.keyPath, "-out", certificate.certificatePath, "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        guard output.status == 0 else { throw CertificateError(message: output.stderr) }
        return certificate
    }

    func remove() {
        try? FileManager.default.removeItem(at: self.directory)
    }

    struct CertificateError: Error {
        let message: String
    }
}
