import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Proxy

/// The proxy on loopback between real clients (curl, Python) and a real upstream server.
@Suite struct ForwardingIntegrationTests {
    let group = MultiThreadedEventLoopGroup.singleton

    @Test func keepAliveConnectionsAreReusedOnBothSides() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        // curl fetches three URLs over one client connection.
        let output = try ExternalTools.run([
            "curl", "-s", "-w", "%{http_code} %{num_connects}\n",
            "-o", "/dev/null", "\(proxy.url)/name", "-o", "/dev/null", "\(proxy.url)/name",
            "-o", "/dev/null", "\(proxy.url)/name",
        ])
        #expect(output.stdout == "200 1\n200 0\n200 0\n")
        #expect(upstream.requests == 3)
        #expect(upstream.connectionsAccepted == 1)
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func largeRequestBodyIsStreamedUp() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-upload-\(UUID()).bin")
        let size = 24 * 1024 * 1024
        try Data(repeating: 0x5A, count: size).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        // Chunked upload: curl reads from stdin-like source without a length.
        let chunked = try ExternalTools.run([
            "curl", "-s", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file.path)", "\(proxy.url)/upload",
        ])
        #expect(chunked.stdout == String(size))
        let withLength = try ExternalTools.run(["curl", "-s", "--data-binary", "@\(file.path)", "\(proxy.url)/upload"])
        #expect(withLength.stdout == String(size))
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func largeResponseIsStreamedDown() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let size = 48 * 1024 * 1024
        // Python reads slowly at first, so the proxy must hold the upstream back rather than fail.
        let script = """
            import urllib.request, time
            r = urllib.request.urlopen("\(proxy.url)/bytes/\(size)")
            total = 0
            first = r.read(65536); total += len(first); time.sleep(0.5)
            while True:
                chunk = r.read(1 << 20)
                if not chunk: break
                total += len(chunk)
            print(r.status, total)
            """
        let output = try ExternalTools.run(["python3", "-c", script])
        #expect(output.stdout == "200 \(size)\n")
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func forwardedHeadersReachTheUpstream() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let output = try ExternalTools.run([
            "curl", "-s", "-H", "X-Forwarded-For: 203.0.113.9", "-H", "Connection: keep-alive, X-Secret",
            "-H", "X-Secret: hop", "-H", "X-Request-ID: client-id-1", "\(proxy.url)/headers",
        ])
        let lines = Set(output.stdout.split(separator: "\n").map { $0.lowercased() })
        #expect(lines.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1"))
        #expect(lines.contains("x-forwarded-proto: http"))
        #expect(lines.contains("x-forwarded-host: 127.0.0.1:\(proxy.port)"))
        #expect(lines.contains("x-request-id: client-id-1"))
        #expect(lines.contains("host: 127.0.0.1:\(upstream.port)"))
        #expect(!lines.contains { $0.hasPrefix("x-secret") || $0.hasPrefix("connection") })
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func oversizedHeadersGet431() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url]) { $0.limits.maxHeaderBytes = 4096 }
        let big = String(repeating: "x", count: 8000)
        let output = try ExternalTools.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Big: \(big)", "\(proxy.url)/name"])
        #expect(output.stdout == "431")
        #expect(upstream.requests == 0)
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func oversizedBodiesGet413() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url]) { $0.limits.maxBodyBytes = 1 << 20 }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-big-\(UUID()).bin")
        try Data(repeating: 0x41, count: 2 << 20).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let withLength = try ExternalTools.run([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@\(file.path)", "\(proxy.url)/upload",
        ])
        #expect(withLength.stdout == "413")
        let chunked = try ExternalTools.run([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
            "--data-binary", "@\(file.path)", "\(proxy.url)/upload",
        ])
        #expect(chunked.stdout == "413")
        await proxy.stop()
        try await upstream.stop()
    }

    @Test(arguments: [
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello",
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /upload HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /name HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    ])
    func smugglingAttemptsGet400(request: String) async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        #expect(try ExternalTools.rawRequestStatus(port: proxy.port, request: request) == 400)
        #expect(upstream.requests == 0)
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func refusedUpstreamGets502WithJSONError() async throws {
        // Bind and close a port so nothing listens on it.
        let closed = try await TestUpstream.start(name: "gone", group: group)
        let url = closed.url
        try await closed.stop()
        let proxy = try await ProxyHarness.start(upstreams: [url])
        let output = try ExternalTools.run(["curl", "-s", "-w", "\n%{http_code}", "\(proxy.url)/name"])
        let parts = output.stdout.split(separator: "\n")
        #expect(parts.last == "502")
        let json = try JSONSerialization.jsonObject(with: Data(parts[0].utf8)) as? [String: [String: Any]]
        #expect(json?["error"]?["code"] as? String == "bad_gateway")
        #expect(json?["error"]?["type"] as? String == "upstream_error")
        #expect(json?["error"]?.keys.contains("param") == true)
        await proxy.stop()
    }

    @Test func resetUpstreamGets502() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let output = try ExternalTools.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(proxy.url)/reset"])
        #expect(output.stdout == "502")
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func staleKeepAliveConnectionIsRetriedOnANewOne() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let url = "\(proxy.url)/close-if-reused"
        // The second and third requests find the pooled connection, which the
        // upstream closes unanswered; each is sent again on a new connection,
        // body included.
        let output = try ExternalTools.run(
            ["curl", "-s", "-w", " %{http_code}\n", url]
                + ["--next", "-s", "-w", " %{http_code}\n", url]
                + ["--next", "-s", "-w", " %{http_code}\n", "--data-binary", "hello", url])
        #expect(output.stdout == "0 200\n0 200\n5 200\n")
        #expect(upstream.connectionsAccepted == 3)
        #expect(upstream.requests == 5)
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func silentUpstreamGets504() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url]) { $0.timeouts.upstreamRead = .milliseconds(300) }
        let output = try ExternalTools.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(proxy.url)/hang"])
        #expect(output.stdout == "504")
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func requestsAreSpreadOverUpstreamsAndFailOver() async throws {
        let first = try await TestUpstream.start(name: "first", group: group)
        let second = try await TestUpstream.start(name: "second", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [first.url, second.url])
        let urls = Array(repeating: "\(proxy.url)/name", count: 10)
        let spread = try ExternalTools.run(["curl", "-s", "-w", "\n"] + urls)
        let names = spread.stdout.split(separator: "\n")
        #expect(names.count == 10)
        #expect(names.contains("first") && names.contains("second"))

        try await second.stop()
        let afterFailure = try ExternalTools.run(["curl", "-s", "-w", " %{http_code}\n"] + urls)
        #expect(afterFailure.stdout.split(separator: "\n").allSatisfy { $0 == "first 200" })
        #expect(!proxy.server.balancer.isUp(1))
        await proxy.stop()
        try await first.stop()
    }

    @Test func failedUpstreamIsProbedBackIn() async throws {
        let first = try await TestUpstream.start(name: "first", group: group)
        let second = try await TestUpstream.start(name: "second", group: group)
        let port = second.port
        let proxy = try await ProxyHarness.start(upstreams: [first.url, second.url])
        try await second.stop()
        _ = try ExternalTools.run(["curl", "-s"] + Array(repeating: "\(proxy.url)/name", count: 4))
        #expect(!proxy.server.balancer.isUp(1))
        let revived = try await TestUpstream.start(name: "second", group: group, port: port)
        #expect(await eventually { proxy.server.balancer.isUp(1) })
        let names = try ExternalTools.run(["curl", "-s", "-w", "\n"] + Array(repeating: "\(proxy.url)/name", count: 6))
        #expect(names.stdout.split(separator: "\n").contains("second"))
        await proxy.stop()
        try await first.stop()
        try await revived.stop()
    }

    @Test func clientDisconnectClosesTheUpstreamConnection() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let script = """
            import socket
            s = socket.create_connection(("127.0.0.1", \(proxy.port)))
            s.sendall(b"GET /drip HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            data = b""
            while data.count(b"tick") < 3:
                data += s.recv(4096)
            s.close()
            print("ok")
            """
        #expect(try ExternalTools.run(["python3", "-c", script]).stdout == "ok\n")
        #expect(await eventually { upstream.closedWhileDripping == 1 })
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func metricsAreServedOnTheAdminListener() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url]) {
            $0.adminAddress = HostAndPort(host: "127.0.0.1", port: 0)
        }
        _ = try ExternalTools.run(["curl", "-s", "\(proxy.url)/name", "\(proxy.url)/missing"])
        let adminPort = try #require(proxy.server.adminAddress?.port)
        let metrics = try ExternalTools.run(["curl", "-s", "http://127.0.0.1:\(adminPort)/metrics"]).stdout
        #expect(metrics.contains("lmgate_proxy_requests_total{status=\"200\"} 1"))
        #expect(metrics.contains("lmgate_proxy_requests_total{status=\"404\"} 1"))
        #expect(metrics.contains("lmgate_proxy_upstream_response_seconds_count{upstream=\"\(upstream.url)\"} 2"))
        #expect(metrics.contains("lmgate_proxy_upstream_up{upstream=\"\(upstream.url)\"} 1"))
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func shutdownLetsOpenStreamsFinish() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url])
        let port = proxy.port
        // A 10-event stream (about half a second) is running when shutdown begins.
        let stream = Task.detached {
            try ExternalTools.run(["curl", "-s", "-N", "http://127.0.0.1:\(port)/sse/10"])
        }
        #expect(await eventually { upstream.eventsSent >= 2 })
        await proxy.stop()
        let output = try await stream.value
        #expect(output.stdout.components(separatedBy: "data: ").count - 1 == 10)
        let refused = try ExternalTools.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/name"])
        #expect(refused.stdout == "000")
        try await upstream.stop()
    }

    @Test func slowClientsCannotHoldTheProxy() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url]) {
            $0.timeouts.requestHead = .milliseconds(300)
            $0.timeouts.clientBody = .milliseconds(300)
            $0.timeouts.clientSend = .milliseconds(300)
        }
        // A head sent a byte at a time and never finished: closed without an answer.
        // A body that stops arriving: 408. A response left unread: cut off.
        let script = """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(proxy.port)), timeout=10)
            s.sendall(b"GET /name HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ")
            closed = False
            for _ in range(100):
                try:
                    s.sendall(b"a")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                time.sleep(0.05)
            if not closed:
                s.settimeout(0.5)
                try:
                    closed = s.recv(100) == b""
                except ConnectionResetError:
                    closed = True
            print("head", "closed" if closed else "open")
            b = socket.create_connection(("127.0.0.1", \(proxy.port)), timeout=10)
            b.sendall(b"POST /upload HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n\\r\\nsome")
            print("body", b.recv(4096).split(b" ")[1].decode())
            c = socket.create_connection(("127.0.0.1", \(proxy.port)), timeout=10)
            c.sendall(b"GET /bytes/\(64 << 20) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            time.sleep(1.5)  # not reading: the proxy's socket stays unwritable
            received = 0
            try:
                while chunk := c.recv(1 << 20):
                    received += len(chunk)
            except ConnectionResetError:
                pass
            print("reader", "cut off" if received < (64 << 20) else "served")
            """
        let output = try ExternalTools.run(["python3", "-c", script])
        #expect(output.stdout == "head closed\nbody 408\nreader cut off\n", "\(output.stderr)")
        #expect(upstream.requests == 2)  // the body request's head and the slow reader's
        #expect(await eventually { proxy.server.openConnections == 0 })
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func connectionsBeyondTheLimitAreClosedAtAccept() async throws {
        let upstream = try await TestUpstream.start(name: "a", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [upstream.url]) { $0.limits.maxConnections = 2 }
        let script = """
            import socket
            held = [socket.create_connection(("127.0.0.1", \(proxy.port))) for _ in range(2)]
            for h in held:
                h.sendall(b"GET /name HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                h.recv(4096)
            extra = socket.create_connection(("127.0.0.1", \(proxy.port)), timeout=5)
            try:
                extra.sendall(b"GET /name HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                print("extra", "closed" if extra.recv(4096) == b"" else "served")
            except ConnectionResetError:
                print("extra closed")
            """
        #expect(try ExternalTools.run(["python3", "-c", script]).stdout == "extra closed\n")
        await proxy.stop()
        try await upstream.stop()
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let first = try await TestUpstream.start(name: "first", group: group)
        let proxy = try await ProxyHarness.start(upstreams: [first.url])
        let script = """
            import socket
            s = socket.create_connection(("127.0.0.1", \(proxy.port)), timeout=10)
            s.sendall(b"GET /name HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" + b"POST /upload HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 3\\r\\n\\r\\nabc"
                      + b"GET /bytes/4 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            data = b""
            while data.count(b"HTTP/1.1 200") < 3 or not data.endswith(b"aaaa"):
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            bodies = [part.split(b"\\r\\n\\r\\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
            print(b"|".join(bodies).decode())
            """
        #expect(try ExternalTools.run(["python3", "-c", script]).stdout == "first|3|aaaa\n")
        await proxy.stop()
        try await first.stop()
    }
}
