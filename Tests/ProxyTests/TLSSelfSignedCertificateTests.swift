import Foundation
import Proxy
import Testing

/// Certificates from ``SelfSignedCertificate``, checked by the `openssl` tool.
@Suite("SelfSignedCertificate")
struct TLSSelfSignedCertificateTests {
    private let names = CertificateSubjectNames(dnsNames: ["gateway.test", "localhost"], ipAddresses: ["127.0.0.1", "::1", "192.0.2.7"])

    private func openssl(_ arguments: [String]) throws -> TLSCommandResult {
        try runTLSCommand("/usr/bin/openssl", arguments)
    }

    @Test(arguments: SelfSignedCertificate.KeyType.allCases)
    func opensslAcceptsTheCertificateForEveryName(keyType: SelfSignedCertificate.KeyType) throws {
        let directory = try TLSTestDirectory()
        let (files, certificate) = try TLSTestCertificates.selfSigned(in: directory, prefix: "gateway", names: names, keyType: keyType)
        let path = files.certificateChainPath

        #expect(try TLSTestCertificates.fingerprint(ofCertificateAt: path) == certificate.sha256Fingerprint)
        let verify = try openssl(["verify", "-CAfile", path, "-purpose", "sslserver", path])
        #expect(verify.status == 0, "\(verify.output)")
        for name in names.dnsNames {
            let check = try openssl(["x509", "-in", path, "-noout", "-checkhost", name])
            #expect(check.output.contains("does match certificate"), "\(check.output)")
        }
        for address in names.ipAddresses {
            let check = try openssl(["x509", "-in", path, "-noout", "-checkip", address])
            #expect(check.output.contains("does match certificate"), "\(check.output)")
        }
        let other = try openssl(["x509", "-in", path, "-noout", "-checkhost", "elsewhere.test"])
        #expect(other.output.contains("does NOT match certificate"), "\(other.output)")

        let text = try openssl(["x509", "-in", path, "-noout", "-text"]).output
        #expect(text.contains("Subject: O = lmgate, CN = gateway.test"))
        #expect(text.contains(keyType == .ecP256 ? "ASN1 OID: prime256v1" : "Public-Key: (2048 bit)"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("TLS Web Server Authentication"))
        // The key file pairs with the certificate.
        let keyCheck = try openssl(["pkey", "-in", files.privateKeyPath, "-pubout"])
        let certificateKey = try openssl(["x509", "-in", path, "-noout", "-pubkey"])
        #expect(keyCheck.status == 0)
        #expect(keyCheck.output == certificateKey.output)
    }

    @Test func theKeyFileIsPrivateEvenWhenItExistedBefore() throws {
        let directory = try TLSTestDirectory()
        let keyPath = directory.file("key.pem")
        try "old".write(toFile: keyPath, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyPath)
        let certificate = try SelfSignedCertificate.generate(names: names)
        try certificate.write(certificatePath: directory.file("cert.pem"), privateKeyPath: keyPath)
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == certificate.privateKeyPEM)
    }

    @Test func firstStartCreatesThePairOnceAndNeverHalfOfIt() throws {
        let directory = try TLSTestDirectory()
        let files = TLSCertificateFiles(certificateChainPath: directory.file("cert.pem"), privateKeyPath: directory.file("key.pem"))
        let created = try #require(try SelfSignedCertificate.createIfMissing(files))
        #expect(try TLSTestCertificates.fingerprint(ofCertificateAt: files.certificateChainPath) == created.sha256Fingerprint)
        #expect(try TLSContext(server: TLSServerConfiguration(certificates: [files])).certificateFingerprints == [created.sha256Fingerprint])
        #expect(try SelfSignedCertificate.createIfMissing(files) == nil)
        #expect(try TLSTestCertificates.fingerprint(ofCertificateAt: files.certificateChainPath) == created.sha256Fingerprint)

        try FileManager.default.removeItem(atPath: files.certificateChainPath)
        let error = #expect(throws: TLSError.self) { try SelfSignedCertificate.createIfMissing(files) }
        #expect(error?.code == .invalidConfiguration)
        #expect(try String(contentsOfFile: files.privateKeyPath, encoding: .utf8) == created.privateKeyPEM)
    }

    @Test func thisHostsNamesIncludeLoopback() {
        let host = CertificateSubjectNames.forThisHost()
        #expect(host.dnsNames.contains("localhost"))
        #expect(host.ipAddresses.contains("127.0.0.1"))
        #expect(host.ipAddresses.contains("::1"))
    }

    @Test func namesAreClassifiedAndBadOnesRefused() throws {
        var names = CertificateSubjectNames(dnsNames: [], ipAddresses: [])
        try names.add("gateway.test")
        try names.add("*.gateway.test")
        try names.add("10.0.0.1")
        try names.add("fd00::1")
        #expect(names.dnsNames == ["gateway.test", "*.gateway.test"])
        #expect(names.ipAddresses == ["10.0.0.1", "fd00::1"])
        for bad in ["", "a,DNS:evil.test", "under_score.test", "-leading.test", "space .test"] {
            #expect(throws: TLSError.self) { try names.add(bad) }
        }
        #expect(throws: TLSError.self) {
            try SelfSignedCertificate.generate(names: CertificateSubjectNames(dnsNames: [], ipAddresses: []))
        }
    }

    @Test func aServerContextNeedsACertificate() {
        let error = #expect(throws: TLSError.self) { try TLSContext(server: TLSServerConfiguration(certificates: [])) }
        #expect(error?.code == .invalidConfiguration)
    }
}
