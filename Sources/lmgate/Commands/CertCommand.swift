import ArgumentParser
import Proxy

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SelfSignedCertificate.KeyType: ExpressibleByArgument {}

/// `lmgate cert`: makes a self-signed certificate for this machine.
struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Make a self-signed TLS certificate covering this host's names and addresses."
    )

    @Option(name: .customLong("cert"), help: "Where to write the certificate (PEM).")
    var certificatePath = "lmgate-cert.pem"

    @Option(name: .customLong("key"), help: "Where to write the private key (PEM, mode 0600).")
    var privateKeyPath = "lmgate-key.pem"

    @Option(help: "Key type: ec (P-256) or rsa (2048 bits).")
    var keyType: SelfSignedCertificate.KeyType = .ecP256

    @Option(help: "Days of validity.")
    var days = 365

    @Option(name: .customLong("name"), help: "An extra DNS name or IP address to include (repeatable).")
    var extraNames: [String] = []

    @Flag(help: "Overwrite existing files.")
    var force = false

    func run() throws {
        if !force {
            for path in [certificatePath, privateKeyPath] where access(path, F_OK) == 0 {
                throw ValidationError("\(path) exists; pass --force to replace it")
            }
        }
        var names = CertificateSubjectNames.forThisHost()
        for name in extraNames {
            try names.add(name)
        }
        let certificate = try SelfSignedCertificate.generate(names: names, keyType: keyType, validityDays: days)
        try certificate.write(certificatePath: certificatePath, privateKeyPath: privateKeyPath)
        print("certificate: \(certificatePath)")
        print("private key: \(privateKeyPath)")
        print("names: \((names.dnsNames + names.ipAddresses).joined(separator: ", "))")
        print("SHA-256 fingerprint: \(certificate.sha256Fingerprint)")
    }
}
