import Foundation
import Logging
import NIOCore
import NIOPosix
import Proxy
import Testing

/// Real clients (openssl s_client, curl, Python's ssl, lmgate's own client
/// mode) over real TCP against ``TLSTestServer`` on 127.0.0.1.
@Suite("TLS with real clients")
struct TLSIntegrationTests {
    private static let logger = Logger(label: "lmgate.tls.test")

    private func sClient(port: Int, _ arguments: [String], input: String = "") throws -> TLSCommandResult {
        try runTLSCommand("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments, input: input)
    }

    @Test func opensslAcceptsTLS12And13WithALPNAndRefusesTLS11AndRenegotiation() async throws {
        let directory = try TLSTestDirectory()
        let (files, _) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)

        for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
            let result = try sClient(port: server.port, [
                flag, "-alpn", "http/1.1", "-servername", "localhost",
                "-CAfile", files.certificateChainPath, "-verify_return_error",
            ])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("New, \(version), Cipher is"), "\(result.output)")
            #expect(result.output.contains("ALPN protocol: http/1.1"), "\(result.output)")
            #expect(result.output.contains("Verify return code: 0 (ok)"), "\(result.output)")
        }
        // "R" asks s_client to renegotiate; the server answers with a
        // no_renegotiation alert (and the handler must send that alert).
        let renegotiation = try sClient(port: server.port, ["-tls1_2"], input: "R\n")
        #expect(renegotiation.output.contains("RENEGOTIATING"), "\(renegotiation.output)")
        #expect(renegotiation.output.contains("no renegotiation"), "\(renegotiation.output)")
        #expect(renegotiation.status != 0)
        // The client is allowed TLS 1.1 (security level 0); the server must refuse it.
        let old = try sClient(port: server.port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        #expect(old.status != 0)
        #expect(old.output.contains("alert protocol version"), "\(old.output)")
        #expect(old.output.contains("New, (NONE), Cipher is (NONE)"), "\(old.output)")
        try await server.stop()
    }

    @Test func largeMessagesCrossManyRecordsBothWays() async throws {
        let directory = try TLSTestDirectory()
        let (files, _) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)
        let client = try await TLSTestClient.connect(port: server.port, context: TLSContext(clientTrustingRootsAt: files.certificateChainPath))

        // 1 MiB in varied lines: many 16 KiB records, split across TCP reads.
        let message = (0..<16_384).map { "line \($0) of the large message, padded to 64 bytes.".padding(toLength: 63, withPad: ".", startingAt: 0) + "\n" }.joined()
        #expect(message.utf8.count == 1 << 20)
        #expect(try await client.echo(message) == message)
        #expect(try await client.echo("and a small one after") == "and a small one after")
        try await client.close()
        try await server.stop()
    }

    @Test func sniChoosesTheMatchingCertificate() async throws {
        let directory = try TLSTestDirectory()
        let pairs = try TLSTestCertificates.caSigned(in: directory, serverNames: ["alpha.test", "beta.test"])
        let configuration = TLSServerConfiguration(certificates: [try #require(pairs["alpha.test"]), try #require(pairs["beta.test"])])
        let store = try TLSCertificateStore(configuration: configuration, logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)

        for name in ["alpha.test", "beta.test"] {
            let result = try sClient(port: server.port, [
                "-servername", name, "-verify_hostname", name,
                "-CAfile", directory.file("ca.pem"), "-verify_return_error",
            ])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("subject=CN = \(name)"), "\(result.output)")
        }
        // No SNI, or a name no certificate covers: the first (default) certificate.
        for arguments in [["-noservername"], ["-servername", "gamma.test"]] {
            let result = try sClient(port: server.port, arguments)
            #expect(result.output.contains("subject=CN = alpha.test"), "\(result.output)")
        }
        try await server.stop()
    }

    @Test func curlTrustsTheGeneratedCertificate() async throws {
        let directory = try TLSTestDirectory()
        let (files, _) = try TLSTestCertificates.selfSigned(
            in: directory, prefix: "server", names: CertificateSubjectNames.forThisHost())
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)

        let urls = ["https://localhost:\(server.port)/", "https://127.0.0.1:\(server.port)/"]
        for (url, versions) in zip(urls + urls, [["--tlsv1.3"], ["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.2", "--tls-max", "1.2"]]) {
            let result = try runTLSCommand("/usr/bin/curl", versions + [
                "-sS", "--resolve", "localhost:\(server.port):127.0.0.1",
                "--cacert", files.certificateChainPath, url,
            ])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output == TLSTestResponder.body)
        }
        try await server.stop()
    }

    @Test func pythonSSLVerifiesAgainstTheTestCA() async throws {
        let directory = try TLSTestDirectory()
        let pairs = try TLSTestCertificates.caSigned(in: directory, serverNames: ["alpha.test", "beta.test"])
        let configuration = TLSServerConfiguration(certificates: [try #require(pairs["alpha.test"]), try #require(pairs["beta.test"])])
        let store = try TLSCertificateStore(configuration: configuration, logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)

        let script = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[1])
            context.set_alpn_protocols(["http/1.1"])
            with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as tcp:
                with context.wrap_socket(tcp, server_hostname="beta.test") as tls:
                    tls.sendall(b"GET / HTTP/1.1\\r\\nHost: beta.test\\r\\n\\r\\n")
                    response = b""
                    while chunk := tls.recv(4096):
                        response += chunk
                    subject = dict(pair[0] for pair in tls.getpeercert()["subject"])
                    print(tls.version(), tls.selected_alpn_protocol(), subject["commonName"])
                    print(response.decode().split("\\r\\n\\r\\n", 1)[1])
            """
        let result = try runTLSCommand("/usr/bin/env", ["python3", "-c", script, directory.file("ca.pem"), "\(server.port)"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == "TLSv1.3 http/1.1 beta.test\n\(TLSTestResponder.body)\n")
        try await server.stop()
    }

    @Test func reloadServesTheNewCertificateWhileOpenConnectionsContinue() async throws {
        let directory = try TLSTestDirectory()
        let (files, first) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)
        let clientContext = try TLSContext(clientTrustingRootsAt: nil)

        let before = try await TLSTestClient.connect(port: server.port, context: clientContext)
        #expect(before.handshake.peerCertificateSHA256 == first.sha256Fingerprint)
        #expect(try await before.echo("one") == "one")

        let second = try SelfSignedCertificate.generate(
            names: CertificateSubjectNames(dnsNames: ["localhost"], ipAddresses: []), keyType: .rsa2048)
        try second.write(certificatePath: files.certificateChainPath, privateKeyPath: files.privateKeyPath)
        let reloaded = try store.reload()
        #expect(reloaded.certificateFingerprints == [second.sha256Fingerprint])

        let after = try await TLSTestClient.connect(port: server.port, context: clientContext)
        #expect(after.handshake.peerCertificateSHA256 == second.sha256Fingerprint)
        #expect(try await after.echo("two") == "two")
        // The connection made before the reload still works, on the old certificate.
        #expect(try await before.echo("still here") == "still here")

        try await before.close()
        try await after.close()
        try await server.stop()
    }

    @Test func badReloadKeepsTheOldCertificateAndSaysWhy() async throws {
        let directory = try TLSTestDirectory()
        let (files, first) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let (other, _) = try TLSTestCertificates.selfSigned(in: directory, prefix: "other")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)
        let clientContext = try TLSContext(clientTrustingRootsAt: nil)

        let originalKey = try String(contentsOfFile: files.privateKeyPath, encoding: .utf8)
        try "not a key".write(toFile: files.privateKeyPath, atomically: true, encoding: .utf8)
        let garbage = #expect(throws: TLSError.self) { try store.reload() }
        #expect(garbage?.code == .privateKeyUnreadable)
        #expect(garbage?.reason.contains(files.privateKeyPath) == true)

        try FileManager.default.removeItem(atPath: files.privateKeyPath)
        try FileManager.default.copyItem(atPath: other.privateKeyPath, toPath: files.privateKeyPath)
        let mismatch = #expect(throws: TLSError.self) { try store.reload() }
        #expect(mismatch?.code == .privateKeyMismatch)

        try originalKey.write(toFile: files.privateKeyPath, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: files.certificateChainPath)
        let missing = #expect(throws: TLSError.self) { try store.reload() }
        #expect(missing?.code == .certificateUnreadable)

        #expect(store.current.certificateFingerprints == [first.sha256Fingerprint])
        let client = try await TLSTestClient.connect(port: server.port, context: clientContext)
        #expect(client.handshake.peerCertificateSHA256 == first.sha256Fingerprint)
        try await client.close()
        try await server.stop()
    }

    @Test func watcherReloadsWhenTheFilesChange() async throws {
        let directory = try TLSTestDirectory()
        let (files, _) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let watcher = TLSCertificateWatcher(store: store, interval: .milliseconds(50))
        let watching = Task { await watcher.run() }
        defer { watching.cancel() }

        let replacement = try SelfSignedCertificate.generate(
            names: CertificateSubjectNames(dnsNames: ["localhost"], ipAddresses: []))
        try replacement.write(certificatePath: files.certificateChainPath, privateKeyPath: files.privateKeyPath)
        for _ in 0..<400 where store.current.certificateFingerprints != [replacement.sha256Fingerprint] {
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(store.current.certificateFingerprints == [replacement.sha256Fingerprint])
    }

    @Test func handshakeTimeoutClosesAnIdleTCPConnection() async throws {
        let directory = try TLSTestDirectory()
        let (files, _) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store, handshakeTimeout: .milliseconds(300))

        // A plain TCP client that connects and never says anything.
        let idle = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port).get()
        try await idle.closeFuture.get()
        #expect(server.events.all.contains("error \(TLSError.Code.handshakeTimedOut)"))
        try await server.stop()
    }

    @Test func sslyzeFindsTheServerCompliantWithMozillaIntermediate() async throws {
        let sslyze = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".venv/bin/sslyze").path
        #expect(FileManager.default.isExecutableFile(atPath: sslyze), "run scripts/setup to install sslyze")
        let directory = try TLSTestDirectory()
        let (files, _) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        let store = try TLSCertificateStore(configuration: TLSServerConfiguration(certificates: [files]), logger: Self.logger)
        let server = try await TLSTestServer.start(store: store)

        // The test certificate is its own trust anchor: sslyze is told to trust
        // it, as it would trust a public CA's certificate.
        let result = try runTLSCommand(sslyze, [
            "--mozilla_config=intermediate", "--certinfo_ca_file", files.certificateChainPath,
            "127.0.0.1:\(server.port)",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("127.0.0.1:\(server.port): OK - Compliant."), "\(result.output)")
        try await server.stop()
    }
}
