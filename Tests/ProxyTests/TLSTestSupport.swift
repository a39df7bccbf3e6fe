import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy

/// A temporary directory removed when the value is deinitialised.
final class TLSTestDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("lmgate-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

/// What a finished external command printed.
struct TLSCommandResult {
    var status: Int32
    var output: String
}

/// Runs an external program (openssl, curl, python3, sslyze), feeding it
/// `input`, and returns its exit status and combined output. The program
/// is terminated if it runs longer than two minutes.
func runTLSCommand(_ executable: String, _ arguments: [String], input: String = "") throws -> TLSCommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let outputPipe = Pipe()
    let inputPipe = Pipe()
    process.standardOutput = outputPipe
    process.standardError = outputPipe
    process.standardInput = inputPipe
    try process.run()
    // A client that hangs must fail its test, not stall the whole suite.
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(120)) {
        if process.isRunning { process.terminate() }
    }
    inputPipe.fileHandleForWriting.write(Data(input.utf8))
    try inputPipe.fileHandleForWriting.close()
    let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return TLSCommandResult(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
}

/// Certificates made at test time: self-signed ones by lmgate's own
/// generator, and a small CA with two leaf certificates by the `openssl` tool.
enum TLSTestCertificates {
    /// Writes a self-signed certificate for `names` and returns its files.
    static func selfSigned(
        in directory: TLSTestDirectory, prefix: String,
        names: CertificateSubjectNames = CertificateSubjectNames(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"]),
        keyType: SelfSignedCertificate.KeyType = .ecP256
    ) throws -> (files: TLSCertificateFiles, certificate: SelfSignedCertificate) {
        let certificate = try SelfSignedCertificate.generate(names: names, keyType: keyType)
        let files = TLSCertificateFiles(
            certificateChainPath: directory.file("\(prefix)-cert.pem"),
            privateKeyPath: directory.file("\(prefix)-key.pem"))
        try certificate.write(certificatePath: files.certificateChainPath, privateKeyPath: files.privateKeyPath)
        return (files, certificate)
    }

    /// Makes `ca.pem` (a test CA) and one leaf per name, signed by it.
    static func caSigned(in directory: TLSTestDirectory, serverNames: [String]) throws -> [String: TLSCertificateFiles] {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory.file("ca-key.pem"), "-out", directory.file("ca.pem"),
            "-subj", "/CN=lmgate test CA", "-days", "2",
        ])
        var result: [String: TLSCertificateFiles] = [:]
        for name in serverNames {
            let files = TLSCertificateFiles(
                certificateChainPath: directory.file("\(name)-cert.pem"), privateKeyPath: directory.file("\(name)-key.pem"))
            try openssl([
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", files.privateKeyPath, "-out", directory.file("\(name).csr"),
                "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
            ])
            try openssl([
                "x509", "-req", "-in", directory.file("\(name).csr"), "-CA", directory.file("ca.pem"),
                "-CAkey", directory.file("ca-key.pem"), "-CAcreateserial", "-days", "2",
                "-copy_extensions", "copy", "-out", files.certificateChainPath,
            ])
            result[name] = files
        }
        return result
    }

    /// The SHA-256 fingerprint `openssl x509` computes for a PEM certificate file.
    static func fingerprint(ofCertificateAt path: String) throws -> String {
        let result = try runTLSCommand("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
        return String(result.output.split(separator: "=").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func openssl(_ arguments: [String]) throws {
        let result = try runTLSCommand("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TLSError(.invalidConfiguration, "openssl \(arguments[0]): \(result.output)") }
    }
}

/// Thread-safe list of what the test server's connections reported.
final class TLSTestEventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    func append(_ entry: String) {
        lock.withLock { entries.append(entry) }
    }

    var all: [String] { lock.withLock { entries } }
}
