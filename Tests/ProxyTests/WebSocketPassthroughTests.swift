import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Testing
@testable import Proxy

/// WebSocket passthrough over real sockets: a Python client speaking raw
/// WebSocket to the proxy, a NIO WebSocket echo server behind it.
@Suite struct WebSocketPassthroughTests {
    let group = MultiThreadedEventLoopGroup.singleton

    /// A proxy on a loopback port with one API key (`key`), in front of `upstream`.
    private func startProxy(
        upstream: WebSocketEchoUpstream, key: String, webSocket: Bool = true, tls: TestCertificate? = nil,
        adjust: (inout ProxyConfiguration) -> Void = { _ in }
    ) async throws -> ProxyServer {
        var overrides: [ConfigurationOverride] = [
            .init(key: "listen", values: ["127.0.0.1:0"]), .init(key: "upstreams", values: [upstream.url]),
            .init(key: "access_log", value: "false"), .init(key: "websocket.enabled", value: String(webSocket)),
        ]
        if let tls {
            overrides += [.init(key: "tls.certificate", value: tls.certificatePath), .init(key: "tls.key", value: tls.keyPath)]
        }
        var configuration = try ProxyConfigurationLoader.load(file: nil, environment: [:], overrides: overrides)
        adjust(&configuration)
        var access = AccessConfiguration()
        access.apiKey = key
        let server = ProxyServer(
            configuration: configuration, group: self.group,
            logger: { var logger = Logger(label: "test.proxy"); logger.logLevel = .warning; return logger }(),
            admission: try AccessControl(configuration: access, logger: quietLogger, listeners: configuration.listeners))
        try await server.start()
        return server
    }

    /// Runs a Python client (``webSocketClientPrelude`` then `body`) and returns what it printed.
    private func runClient(_ body: String) throws -> String {
        let output = try ExternalTools.run(["python3", "-c", Self.webSocketClientPrelude + body])
        #expect(output.stderr.isEmpty, "\(output.stderr)")
        return output.stdout
    }

    @Test func authenticatedHandshakeIsRelayedBothWays() async throws {
        let upstream = try await WebSocketEchoUpstream.start(group: group)
        let key = "sk-test-" + UUID().uuidString
        let proxy = try await startProxy(upstream: upstream, key: key)
        let port = try #require(proxy.listeningAddresses.first?.port)
        // A frame sent with the handshake, before any answer, must arrive too;
        // the 256 KiB frame is read back while it is being sent.
        let output = try runClient("""
            # As a browser on the proxy's own origin would (Host is gw).
            s, status, head, rest = handshake(
                \(port), "Authorization: Bearer \(key)\\r\\nOrigin: http://gw\\r\\n", extra=frame(b"early"))
            print(status, accept_of(head) == expected_accept)
            opcode, payload, rest = read_frame(s, rest)
            print(payload.decode())
            opcode, payload, rest = read_frame(s, rest)
            print(payload.decode())
            big = os.urandom(256 * 1024)
            result = {}
            def reader():
                result["frame"] = read_frame(s, rest)
            t = threading.Thread(target=reader)
            t.start()
            s.sendall(frame(big, opcode=2))
            t.join(10)
            print(result["frame"][0], result["frame"][1] == big)
            """)
        #expect(output == "101 True\nhello\nearly\n2 True\n")
        let handshake = try #require(upstream.handshakes.first)
        #expect(handshake.headers["authorization"].isEmpty)
        #expect(handshake.headers["x-authenticated-user"] == ["key:\(AccessPolicy.mainKeyName)"])
        #expect(await eventually { upstream.openConnections == 0 && proxy.openConnections == 0 })
        await proxy.shutdown()
        try await upstream.stop()
    }

    /// The same over TLS, the way a LAN client reaches the proxy.
    @Test func handshakeOverTLSIsRelayed() async throws {
        let upstream = try await WebSocketEchoUpstream.start(group: group)
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let key = "sk-test-" + UUID().uuidString
        let proxy = try await startProxy(upstream: upstream, key: key, tls: certificate)
        let port = try #require(proxy.listeningAddresses.first?.port)
        let output = try runClient("""
            s, status, head, rest = handshake(\(port), "Authorization: Bearer \(key)\\r\\n", tls=True)
            opcode, greeting, rest = read_frame(s, rest)
            s.sendall(frame(b"over tls"))
            opcode, echo, rest = read_frame(s, rest)
            print(status, greeting.decode(), echo.decode())
            """)
        #expect(output == "101 hello over tls\n")
        await proxy.shutdown()
        try await upstream.stop()
    }

    @Test func refusedHandshakesNeverReachTheUpstream() async throws {
        let upstream = try await WebSocketEchoUpstream.start(group: group)
        let key = "sk-test-" + UUID().uuidString
        let on = try await startProxy(upstream: upstream, key: key)
        let off = try await startProxy(upstream: upstream, key: key, webSocket: false)
        let (onPort, offPort) = (try #require(on.listeningAddresses.first?.port), try #require(off.listeningAddresses.first?.port))
        let output = try runClient("""
            auth = "Authorization: Bearer \(key)\\r\\n"
            cases = [
                (\(onPort), "/chat", "", {}),                                  # no credentials
                (\(onPort), "/health", "", {}),                                # public path, no identity
                (\(offPort), "/chat", auth, {}),                               # passthrough off
                (\(onPort), "/chat", auth, {"upgrade": "h2c"}),                # another protocol
                (\(onPort), "/chat", auth, {"version": "8"}),                  # not version 13
                (\(onPort), "/chat", auth, {"method": "POST"}),                # not GET
                (\(onPort), "/chat", auth + "Origin: https://evil.example\\r\\n", {}),  # a foreign page
                (\(onPort), "/refuse", auth, {}),                              # the upstream says no
            ]
            for port, path, headers, options in cases:
                s, status, head, rest = handshake(port, headers, path=path, **options)
                print(status, "connection: close" in head.lower(), closed_after(s, rest))
            """)
        #expect(output == """
            401 True True
            403 True True
            501 True True
            501 True True
            400 True True
            400 True True
            403 True True
            403 True True

            """)
        // Only the handshake the upstream refused itself was forwarded.
        #expect(upstream.handshakes.map(\.uri) == ["/refuse"])
        await on.shutdown()
        await off.shutdown()
        try await upstream.stop()
    }

    @Test func idleConnectionIsClosedOnBothSides() async throws {
        let upstream = try await WebSocketEchoUpstream.start(group: group)
        let key = "sk-test-" + UUID().uuidString
        let proxy = try await startProxy(upstream: upstream, key: key) {
            $0.webSocket.idleTimeout = .milliseconds(300)
        }
        let port = try #require(proxy.listeningAddresses.first?.port)
        let output = try runClient("""
            s, status, head, rest = handshake(\(port), "Authorization: Bearer \(key)\\r\\n")
            opcode, payload, rest = read_frame(s, rest)
            print(status, payload.decode(), closed_after(s, rest))
            """)
        #expect(output == "101 hello True\n")
        #expect(await eventually { upstream.openConnections == 0 && proxy.openConnections == 0 })
        await proxy.shutdown()
        try await upstream.stop()
    }

    @Test func busyConnectionIsClosedAtItsMaximumDuration() async throws {
        let upstream = try await WebSocketEchoUpstream.start(group: group)
        let key = "sk-test-" + UUID().uuidString
        let proxy = try await startProxy(upstream: upstream, key: key) {
            $0.webSocket.idleTimeout = .seconds(60)
            $0.webSocket.maxDuration = .milliseconds(500)
        }
        let port = try #require(proxy.listeningAddresses.first?.port)
        // A frame every 50 ms keeps the connection busy until the proxy ends it.
        let output = try runClient("""
            s, status, head, rest = handshake(\(port), "Authorization: Bearer \(key)\\r\\n")
            opcode, payload, rest = read_frame(s, rest)
            echoes = 0
            try:
                for i in range(200):
                    s.sendall(frame(b"tick"))
                    opcode, payload, rest = read_frame(s, rest)
                    echoes += 1
                    time.sleep(0.05)
            except (EOFError, ConnectionError):
                pass
            print(status, echoes > 0 and echoes < 200)
            """)
        #expect(output == "101 True\n")
        #expect(await eventually { upstream.openConnections == 0 })
        await proxy.shutdown()
        try await upstream.stop()
    }

    @Test func capRefusesTheNextConnectionUntilOneCloses() async throws {
        let upstream = try await WebSocketEchoUpstream.start(group: group)
        let key = "sk-test-" + UUID().uuidString
        let proxy = try await startProxy(upstream: upstream, key: key) { $0.webSocket.maxConnections = 1 }
        let port = try #require(proxy.listeningAddresses.first?.port)
        let output = try runClient("""
            auth = "Authorization: Bearer \(key)\\r\\n"
            first, status, head, rest = handshake(\(port), auth)
            print(status)
            second, status, head, rest = handshake(\(port), auth)
            print(status, closed_after(second, rest))
            first.close()
            for attempt in range(100):
                third, status, head, rest = handshake(\(port), auth)
                if status == 101:
                    break
                time.sleep(0.05)
            print(status)
            """)
        #expect(output == "101\n503 True\n101\n")
        await proxy.shutdown()
        try await upstream.stop()
    }

    /// Raw WebSocket client helpers for the tests' Python scripts.
    static let webSocketClientPrelude = #"""
        import base64, hashlib, os, socket, ssl, threading, time

        expected_accept = None

        def handshake(port, headers, path="/chat", extra=b"", upgrade="websocket", version="13", method="GET", tls=False):
            global expected_accept
            key = base64.b64encode(os.urandom(16)).decode()
            expected_accept = base64.b64encode(
                hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE  # a certificate made for this test
                s = context.wrap_socket(s)
            s.sendall((f"{method} {path} HTTP/1.1\r\nHost: gw\r\nUpgrade: {upgrade}\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n{headers}\r\n").encode() + extra)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError("closed before a response head")
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            head = head.decode()
            return s, int(head.split(" ")[1]), head, rest

        def accept_of(head):
            for line in head.split("\r\n")[1:]:
                name, value = line.split(":", 1)
                if name.lower() == "sec-websocket-accept":
                    return value.strip()

        def frame(payload, opcode=1):
            mask = os.urandom(4)
            n = len(payload)
            if n < 126:
                length = bytes([0x80 | n])
            elif n < 65536:
                length = bytes([0x80 | 126]) + n.to_bytes(2, "big")
            else:
                length = bytes([0x80 | 127]) + n.to_bytes(8, "big")
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            return bytes([0x80 | opcode]) + length + mask + masked

        def read_exactly(s, buffer, n):
            while len(buffer) < n:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise EOFError("closed")
                buffer += chunk
            return buffer[:n], buffer[n:]

        def read_frame(s, buffer):
            """One unmasked frame from the server: (opcode, payload, rest)."""
            first, buffer = read_exactly(s, buffer, 2)
            n = first[1] & 0x7F
            if n == 126:
                extended, buffer = read_exactly(s, buffer, 2)
                n = int.from_bytes(extended, "big")
            elif n == 127:
                extended, buffer = read_exactly(s, buffer, 8)
                n = int.from_bytes(extended, "big")
            payload, buffer = read_exactly(s, buffer, n)
            return first[0] & 0x0F, payload, buffer

        def closed_after(s, rest):
            """Whether the peer closes the connection (reading and discarding until then)."""
            try:
                while s.recv(65536):
                    pass
                return True
            except socket.timeout:
                return False
            except ConnectionError:
                return True

        """#
}

/// The decisions behind passthrough, without sockets.
@Suite struct WebSocketPassthroughDecisionTests {
    private func head(
        _ fields: [(String, String)], method: HTTPMethod = .GET, version: HTTPVersion = .http1_1
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: "/chat", headers: HTTPHeaders(fields))
    }

    private let valid: [(String, String)] = [
        ("Host", "gw"), ("Upgrade", "WebSocket"), ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    private func replacing(_ name: String, with value: String?) -> [(String, String)] {
        var fields = self.valid.filter { $0.0.lowercased() != name.lowercased() }
        if let value { fields.append((name, value)) }
        return fields
    }

    @Test func onlyThePlainWebSocketHandshakeIsAccepted() {
        #expect(WebSocketUpgradeRequest.verdict(for: head(valid)) == .webSocket)
        #expect(WebSocketUpgradeRequest.verdict(for: head([("Host", "gw")])) == .noUpgrade)
        #expect(WebSocketUpgradeRequest.verdict(for: head(replacing("Upgrade", with: "h2c"))) == .otherProtocol)
        #expect(WebSocketUpgradeRequest.verdict(for: head(replacing("Upgrade", with: "websocket, h2c"))) == .otherProtocol)
        #expect(WebSocketUpgradeRequest.verdict(for: head(replacing("Upgrade", with: "websocketx"))) == .otherProtocol)
        let invalid: [[(String, String)]] = [
            replacing("Connection", with: nil),
            replacing("Connection", with: "upgrade, sec-websocket-key"),
            replacing("Sec-WebSocket-Key", with: nil),
            replacing("Sec-WebSocket-Key", with: "short=="),
            replacing("Sec-WebSocket-Version", with: "8"),
            valid + [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")],
            valid + [("Content-Length", "5")],
            valid + [("Transfer-Encoding", "chunked")],
        ]
        for fields in invalid {
            guard case .invalid = WebSocketUpgradeRequest.verdict(for: head(fields)) else {
                Issue.record("accepted \(fields)")
                continue
            }
        }
        guard case .invalid = WebSocketUpgradeRequest.verdict(for: head(valid, method: .POST)),
            case .invalid = WebSocketUpgradeRequest.verdict(for: head(valid, version: .http1_0))
        else {
            Issue.record("a POST or HTTP/1.0 handshake was accepted")
            return
        }
    }

    @Test func refusalDependsOnTheListener() {
        let websocket = head(valid)
        #expect(RequestRefusal.refusal(for: websocket)?.response.status == .notImplemented)
        #expect(RequestRefusal.refusal(for: websocket, webSocketPassthrough: true) == nil)
        let h2c = head(replacing("Upgrade", with: "h2c"))
        #expect(RequestRefusal.refusal(for: h2c, webSocketPassthrough: true)?.response.status == .notImplemented)
        let badVersion = RequestRefusal.refusal(for: head(replacing("Sec-WebSocket-Version", with: "8")), webSocketPassthrough: true)
        #expect(badVersion?.response.status == .badRequest && badVersion?.closesAtOnce == true)
        // Refused later for another reason, an accepted handshake still closes at once.
        let twoHosts = RequestRefusal.refusal(for: head(valid + [("Host", "other")]), webSocketPassthrough: true)
        #expect(twoHosts?.response.status == .badRequest && twoHosts?.closesAtOnce == true)
    }

    @Test func onlyTheProxysOwnOrListedOriginsMayOpenAWebSocket() {
        #expect(WebSocketOriginCheck.permits(origin: nil, host: "gw", allowed: []))
        #expect(WebSocketOriginCheck.permits(origin: "https://GW.example", host: "gw.example:443", allowed: []))
        #expect(WebSocketOriginCheck.permits(origin: "http://gw:8080", host: "gw:8080", allowed: []))
        #expect(WebSocketOriginCheck.permits(origin: "http://[::1]:8080", host: "[::1]:8080", allowed: []))
        #expect(!WebSocketOriginCheck.permits(origin: "https://gw.example", host: "gw.example:8443", allowed: []))
        #expect(!WebSocketOriginCheck.permits(origin: "https://evil.example", host: "gw.example", allowed: []))
        #expect(!WebSocketOriginCheck.permits(origin: "null", host: "gw", allowed: []))
        #expect(!WebSocketOriginCheck.permits(origin: "https://gw@evil.example", host: "gw", allowed: []))
        #expect(!WebSocketOriginCheck.permits(origin: "https://evil.example", host: nil, allowed: []))
        #expect(WebSocketOriginCheck.permits(origin: "https://chat.example", host: "gw", allowed: ["https://chat.example"]))
        #expect(WebSocketOriginCheck.permits(origin: "https://any.example", host: "gw", allowed: ["*"]))
    }

    /// GlueHandler back-pressure: a side's reads are held while the other
    /// side cannot take more; closing one side closes the other and gives
    /// the listener's permit back.
    @Test func relayHoldsReadsWhileThePartnerCannotTakeMore() throws {
        let loop = EmbeddedEventLoop()
        let (client, upstream) = (EmbeddedChannel(loop: loop), EmbeddedChannel(loop: loop))
        var configuration = WebSocketConfiguration()
        configuration.maxConnections = 1
        let passthrough = WebSocketPassthrough(configuration: configuration)
        let tunnel = WebSocketTunnel(
            passthrough: passthrough, permit: try #require(passthrough.limit.take()), eventLoop: loop,
            clientAddress: "192.0.2.10", logger: Logger(label: "test"))
        let upstreamReads = ReadCounter()
        try upstream.pipeline.syncOperations.addHandlers(upstreamReads, try #require(tunnel.upstreamSide))
        try client.pipeline.syncOperations.addHandler(try #require(tunnel.clientSide))
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.10", port: 50000)).wait()
        try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1234)).wait()
        tunnel.start()

        try upstream.writeInbound(ByteBuffer(string: "from upstream"))
        upstream.pipeline.fireChannelReadComplete()
        #expect(try client.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "from upstream"))
        try client.writeInbound(ByteBuffer(string: "from client"))
        client.pipeline.fireChannelReadComplete()
        #expect(try upstream.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "from client"))

        client.isWritable = false  // the client's socket buffer is full
        client.pipeline.fireChannelWritabilityChanged()
        let before = upstreamReads.count
        upstream.read()
        #expect(upstreamReads.count == before)
        client.isWritable = true
        client.pipeline.fireChannelWritabilityChanged()
        #expect(upstreamReads.count == before + 1)

        #expect(passthrough.limit.count == 1)
        try client.close().wait()
        #expect(!upstream.isActive)
        #expect(passthrough.limit.count == 0)
    }

    @Test func tunnelDeadlineClosesWhenIdleOrTooOld() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var deadline = WebSocketTunnelDeadline(idleTimeout: .seconds(10), maxDuration: .seconds(60), switchedAt: start)
        #expect(deadline.check(now: start + .seconds(5)) == .checkAgain(at: start + .seconds(10)))
        #expect(deadline.check(now: start + .seconds(10)) == .closeIdle)
        deadline.lastActivity = start + .seconds(55)
        #expect(deadline.check(now: start + .seconds(58)) == .checkAgain(at: start + .seconds(60)))
        #expect(deadline.check(now: start + .seconds(60)) == .closeAtMaximumDuration)
    }

    @Test func connectionLimitCountsPermitsOnce() {
        let limit = WebSocketConnectionLimit(maximum: 2)
        let first = limit.take()
        let second = limit.take()
        #expect(first != nil && second != nil && limit.take() == nil)
        first?.release()
        first?.release()
        #expect(limit.count == 1)
        #expect(limit.take() != nil && limit.take() == nil)
    }

    @Test func configurationIsOffByDefaultAndChecksListeners() throws {
        let base = "listen: [\"127.0.0.1:8080\", \"127.0.0.1:8081\"]\nupstreams: [\"http://127.0.0.1:1234\"]\n"
        let defaults = try ProxyConfigurationLoader.load(yaml: base)
        #expect(!defaults.webSocket.isEnabled(on: HostAndPort(host: "127.0.0.1", port: 8080)))
        let configured = try ProxyConfigurationLoader.load(yaml: base + """
            websocket:
              enabled: true
              listeners: ["http://127.0.0.1:8081"]
              max_connections: 5
              idle_timeout: 30s
              max_duration: 2h
              origins: ["https://chat.example.org"]
            """)
        #expect(!configured.webSocket.isEnabled(on: HostAndPort(host: "127.0.0.1", port: 8080)))
        #expect(configured.webSocket.isEnabled(on: HostAndPort(host: "127.0.0.1", port: 8081)))
        #expect(configured.webSocket.maxConnections == 5)
        #expect(configured.webSocket.origins == ["https://chat.example.org"])
        #expect(configured.webSocket.idleTimeout == .seconds(30) && configured.webSocket.maxDuration == .seconds(7200))
        #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(yaml: base + "websocket: { enabled: true, listeners: [\"127.0.0.1:9\"] }")
        }
        #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(yaml: base + "websocket: { max_connections: 0 }")
        }
    }

    /// The signal passthrough relies on: only an authenticated request is
    /// admitted with an identity, not one on a public path.
    @Test func admissionTellsAnAuthenticatedRequest() async throws {
        var configuration = AccessConfiguration()
        let key = "sk-test-" + UUID().uuidString
        configuration.apiKey = key
        let access = try AccessControl(configuration: configuration, logger: quietLogger, listeners: [])
        guard case .admit(_, let publicIdentity) = try await access.decide([("Host", "gw")], uri: "/health") else {
            Issue.record("a public path was not admitted")
            return
        }
        #expect(publicIdentity == nil)
        guard case .admit(_, let identity) = try await access.decide([("Authorization", "Bearer \(key)")]) else {
            Issue.record("a valid key was not admitted")
            return
        }
        #expect(identity?.hasPrefix("key:") == true)
        let open = try AccessControl(configuration: AccessConfiguration(), logger: quietLogger, listeners: [])
        guard case .admit(_, let openIdentity) = try await open.decide([]) else {
            Issue.record("an open proxy refused")
            return
        }
        #expect(openIdentity == nil)
    }
}
