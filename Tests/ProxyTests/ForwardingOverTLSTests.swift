import Foundation
import NIOPosix
import Testing
@testable import Proxy

/// The same forwarding through a TLS listener, driven by curl with `--cacert`.
@Suite struct ForwardingOverTLSTests {
    let group = MultiThreadedEventLoopGroup.singleton

    @Test func keepAliveStreamingAndErrorsWorkThroughTLS() async throws {
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url], tls: certificate)
        let base = "https://localhost:\(proxy.port)"
        let curl = ["curl", "-s", "--cacert", certificate.certificatePath]

        // Keep-alive: three requests, one TLS connection, one upstream connection.
        let reuse = try ExternalTools.run(
            curl + ["-w", "%{http_code} %{num_connects}\n"]
                + ["-o", "/dev/null", "\(base)/name", "-o", "/dev/null", "\(base)/name", "-o", "/dev/null", "\(base)/name"])
        #expect(reuse.stdout == "200 1\n200 0\n200 0\n")
        #expect(upstream.connectionsAccepted == 1)

        // X-Forwarded-Proto says the client used TLS.
        let headers = try ExternalTools.run(curl + ["\(base)/headers"]).stdout.lowercased()
        #expect(headers.contains("x-forwarded-proto: https"))

        // Request body up, large response down.
        let file = certificate.directory.appendingPathComponent("upload.bin")
        try Data(repeating: 0x42, count: 8 << 20).write(to: file)
        let upload = try ExternalTools.run(curl + ["--data-binary", "@\(file.path)", "\(base)/upload"])
        #expect(upload.stdout == String(8 << 20))
        let download = try ExternalTools.run(curl + ["-o", "/dev/null", "-w", "%{size_download}", "\(base)/bytes/\(16 << 20)"])
        #expect(download.stdout == String(16 << 20))

        // Server-sent events, all of them, in order.
        let events = try ExternalTools.run(curl + ["-N", "\(base)/sse/5"]).stdout
        #expect(events == (0..<5).map { "data: {\"index\":\($0)}\n\n" }.joined())

        // A reset upstream is a 502 through TLS too.
        let reset = try ExternalTools.run(curl + ["-o", "/dev/null", "-w", "%{http_code}", "\(base)/reset"])
        #expect(reset.stdout == "502")

        // Plain HTTP sent to the TLS port gets a readable 400, not a handshake failure.
        let plain = try ExternalTools.run(["curl", "-s", "-w", "\n%{http_code}", "http://localhost:\(proxy.port)/name"]).stdout
        #expect(plain.hasSuffix("\n400"))
        #expect(plain.contains("use https://"))

        await proxy.stop()
        try await upstream.stop()
    }

    @Test func certificateReloadServesTheNewPairAndABadPairKeepsIt() async throws {
        let certificate = try TestCertificate.make()
        let replacement = try TestCertificate.make()
        defer { certificate.remove(); replacement.remove() }
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url], tls: certificate)
        let url = "https://localhost:\(proxy.port)/name"
        func status(trusting ca: TestCertificate) throws -> String {
            try ExternalTools.run(["curl", "-s", "--cacert", ca.certificatePath, "-o", "/dev/null", "-w", "%{http_code}", url]).stdout
        }
        #expect(try status(trusting: certificate) == "200")
        #expect(try status(trusting: replacement) == "000")

        // The files are replaced in place, then a reload (SIGHUP's action) swaps the pair.
        let (newCertificate, newKey) = (
            try Data(contentsOf: URL(fileURLWithPath: replacement.certificatePath)),
            try Data(contentsOf: URL(fileURLWithPath: replacement.keyPath)))
        try newKey.write(to: URL(fileURLWithPath: certificate.keyPath))
        try newCertificate.write(to: URL(fileURLWithPath: certificate.certificatePath))
        proxy.server.reloadCertificates()
        #expect(try status(trusting: replacement) == "200")

        // A key file that is no key keeps the pair in force.
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: certificate.keyPath))
        proxy.server.reloadCertificates()
        #expect(try status(trusting: replacement) == "200")

        await proxy.stop()
        try await upstream.stop()
    }
}
