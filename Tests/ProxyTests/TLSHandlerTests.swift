import NIOCore
import NIOEmbedded
import Proxy
import Testing

/// Collects the user events a ``TLSHandler`` fires.
private final class TLSEventRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    var handshakes: [TLSHandshakeCompleted] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted { handshakes.append(completed) }
        context.fireUserInboundEventTriggered(event)
    }
}

/// A server and a client ``TLSHandler``, each on an `EmbeddedChannel`, with
/// the bytes moved between them by hand.
private struct TLSEmbeddedPair {
    let server = EmbeddedChannel()
    let client = EmbeddedChannel()
    let serverEvents = TLSEventRecorder()
    let clientEvents = TLSEventRecorder()
    let directory: TLSTestDirectory
    let certificate: SelfSignedCertificate

    init(handshakeTimeout: TimeAmount? = .seconds(10)) throws {
        directory = try TLSTestDirectory()
        let (files, certificate) = try TLSTestCertificates.selfSigned(in: directory, prefix: "server")
        self.certificate = certificate
        let serverContext = try TLSContext(server: TLSServerConfiguration(certificates: [files]))
        let clientContext = try TLSContext(clientTrustingRootsAt: files.certificateChainPath)
        try server.pipeline.syncOperations.addHandlers(
            TLSHandler(context: serverContext, handshakeTimeout: handshakeTimeout), serverEvents)
        try client.pipeline.syncOperations.addHandlers(
            TLSHandler(context: clientContext, serverName: "localhost", handshakeTimeout: handshakeTimeout), clientEvents)
    }

    func connect() throws {
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
    }

    /// Moves bytes both ways until neither side has anything more to send.
    func exchange() throws {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(client, server), (server, client)] {
                while let bytes = try from.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    if bytes.readableBytes > 0, to.isActive {
                        try to.writeInbound(bytes)
                    }
                }
            }
        }
    }

    static func text(_ channel: EmbeddedChannel) throws -> String {
        var all = ""
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            all += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return all
    }
}

@Suite("TLSHandler on EmbeddedChannel")
struct TLSHandlerTests {
    @Test func handshakeDataBothWaysAndCloseNotify() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        try pair.exchange()

        let serverHandshake = try #require(pair.serverEvents.handshakes.first)
        let clientHandshake = try #require(pair.clientEvents.handshakes.first)
        #expect(serverHandshake.protocolVersion == "TLSv1.3")
        #expect(serverHandshake.negotiatedProtocol == "http/1.1")
        #expect(serverHandshake.serverName == "localhost")
        #expect(clientHandshake.negotiatedProtocol == "http/1.1")
        #expect(clientHandshake.peerCertificateSHA256 == pair.certificate.sha256Fingerprint)

        try pair.client.writeOutbound(ByteBuffer(string: "ping from client"))
        try pair.exchange()
        #expect(try TLSEmbeddedPair.text(pair.server) == "ping from client")

        let written = pair.server.eventLoop.makePromise(of: Void.self)
        pair.server.writeAndFlush(ByteBuffer(string: "pong from server"), promise: written)
        try pair.exchange()
        try written.futureResult.wait()
        #expect(try TLSEmbeddedPair.text(pair.client) == "pong from server")

        // The client closes: its close_notify reaches the server, which
        // answers with its own and closes too.
        let closed = pair.client.close()
        try pair.exchange()
        try closed.wait()
        #expect(!pair.client.isActive)
        #expect(!pair.server.isActive)
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
    }

    @Test func writesFlushedBeforeTheHandshakeArriveAfterIt() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        let first = pair.client.eventLoop.makePromise(of: Void.self)
        let second = pair.client.eventLoop.makePromise(of: Void.self)
        pair.client.write(ByteBuffer(string: "early "), promise: first)
        pair.client.writeAndFlush(ByteBuffer(string: "bird"), promise: second)
        try pair.exchange()
        try first.futureResult.wait()
        try second.futureResult.wait()
        #expect(try TLSEmbeddedPair.text(pair.server) == "early bird")
        try pair.client.close().wait()
        try pair.exchange()
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
    }

    @Test func nothingIsEncryptedBeforeFlush() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        try pair.exchange()
        let written = pair.client.eventLoop.makePromise(of: Void.self)
        pair.client.write(ByteBuffer(string: "held"), promise: written)
        #expect(try pair.client.readOutbound(as: ByteBuffer.self) == nil)
        pair.client.flush()
        let record = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(record.getInteger(at: record.readerIndex, as: UInt8.self) == 23)  // TLS record type "application data"
        try written.futureResult.wait()
        try pair.server.writeInbound(record)
        #expect(try TLSEmbeddedPair.text(pair.server) == "held")
        try pair.client.close().wait()
        try pair.exchange()
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
    }

    /// The number of TLS records in `bytes` (each: type, version, length, body).
    private func recordCount(_ bytes: ByteBuffer) -> Int {
        var bytes = bytes
        var count = 0
        while bytes.readableBytes >= 5, let length = bytes.getInteger(at: bytes.readerIndex + 3, as: UInt16.self) {
            bytes.moveReaderIndex(forwardBy: 5 + Int(length))
            count += 1
        }
        return count
    }

    @Test func smallWritesInOneFlushShareARecord() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        try pair.exchange()
        let promises = (0..<3).map { _ in pair.client.eventLoop.makePromise(of: Void.self) }
        for (text, promise) in zip(["5\r\n", "hello", "\r\n"], promises) {
            pair.client.write(ByteBuffer(string: text), promise: promise)
        }
        pair.client.flush()
        let ciphertext = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(recordCount(ciphertext) == 1)
        try promises.forEach { try $0.futureResult.wait() }
        try pair.server.writeInbound(ciphertext)
        #expect(try TLSEmbeddedPair.text(pair.server) == "5\r\nhello\r\n")

        // Writes that together exceed one record's 16 KiB are split between records, in order.
        let parts = ["a", "b", "c"].map { String(repeating: $0, count: 10_000) }
        for part in parts {
            pair.client.write(ByteBuffer(string: part), promise: nil)
        }
        pair.client.flush()
        let large = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(recordCount(large) == 3)
        try pair.server.writeInbound(large)
        #expect(try TLSEmbeddedPair.text(pair.server) == parts.joined())

        try pair.client.close().wait()
        try pair.exchange()
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
    }

    /// The join and ciphertext buffers are reused from flush to flush: bytes
    /// still queued in the channel when the next flush comes (left unread
    /// here) must never be overwritten, and bytes taken out in between (so
    /// the buffer's memory is reused) must arrive the same.
    @Test func buffersReusedFromFlushToFlushNeverChangeQueuedBytes() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        try pair.exchange()
        var generator = SystemRandomNumberGenerator()
        var expected = ""
        var received = ""
        for round in 0..<300 {
            // One to three writes per flush (joined into one record), each of
            // a letter that changes every round, so a reused buffer shows.
            let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(round % 26)))
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let text = String(repeating: letter, count: Int.random(in: 1...1500, using: &generator))
                expected += text
                pair.client.write(ByteBuffer(string: text), promise: nil)
            }
            pair.client.flush()
            // Deliver everything queued so far, or leave it queued behind the next flush.
            if Bool.random(using: &generator) {
                while let bytes = try pair.client.readOutbound(as: ByteBuffer.self) {
                    try pair.server.writeInbound(bytes)
                }
                received += try TLSEmbeddedPair.text(pair.server)
            }
        }
        while let bytes = try pair.client.readOutbound(as: ByteBuffer.self) {
            try pair.server.writeInbound(bytes)
        }
        received += try TLSEmbeddedPair.text(pair.server)
        #expect(received == expected)

        try pair.client.close().wait()
        try pair.exchange()
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
    }

    @Test func closeDuringTheHandshakeFailsHeldWrites() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        let held = pair.client.eventLoop.makePromise(of: Void.self)
        pair.client.writeAndFlush(ByteBuffer(string: "too early"), promise: held)
        try pair.client.close().wait()
        #expect(throws: ChannelError.ioOnClosedChannel) { try held.futureResult.wait() }
        // Only the ClientHello went out: no close_notify without a session.
        let hello = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(hello.getInteger(at: hello.readerIndex, as: UInt8.self) == 22)  // TLS record type "handshake"
        #expect(try pair.client.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.server.finish().isClean)
    }

    @Test func writesNotFlushedAtCloseAreFailed() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        try pair.exchange()
        let unflushed = pair.client.eventLoop.makePromise(of: Void.self)
        pair.client.write(ByteBuffer(string: "never flushed"), promise: unflushed)
        let closed = pair.client.close()
        try pair.exchange()
        try closed.wait()
        #expect(throws: ChannelError.ioOnClosedChannel) { try unflushed.futureResult.wait() }
        #expect(try TLSEmbeddedPair.text(pair.server) == "")
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pair.client.finish(acceptAlreadyClosed: true).isClean)
    }

    @Test func handshakeTimeoutClosesTheConnection() throws {
        let pair = try TLSEmbeddedPair(handshakeTimeout: .seconds(5))
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(pair.server.isActive)
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!pair.server.isActive)
        #expect(throws: TLSError(.handshakeTimedOut)) { try pair.server.throwIfErrorCaught() }
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        _ = try pair.client.finish()
    }

    @Test func malformedClientHelloIsAnsweredWithAnAlertAndClosed() throws {
        let pair = try TLSEmbeddedPair()
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        // A handshake record holding a ClientHello whose body is one byte long.
        let record: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]
        #expect(throws: TLSError.self) { try pair.server.writeInbound(ByteBuffer(bytes: record)) }
        #expect(!pair.server.isActive)
        #expect(pair.serverEvents.handshakes.isEmpty)
        let alert = try #require(try pair.server.readOutbound(as: ByteBuffer.self))
        #expect(alert.getInteger(at: alert.readerIndex, as: UInt8.self) == 21)  // TLS record type "alert"
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        _ = try pair.client.finish()
    }

    @Test func plainHTTPOnTheTLSPortFailsTheHandshake() throws {
        let pair = try TLSEmbeddedPair()
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        let error = #expect(throws: TLSError.self) {
            try pair.server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        }
        #expect(error?.code == .handshakeFailed)
        #expect(!pair.server.isActive)
        #expect(pair.serverEvents.handshakes.isEmpty)
        #expect(try pair.server.finish(acceptAlreadyClosed: true).isClean)
        _ = try pair.client.finish()
    }

    @Test func tcpCloseWithoutCloseNotifyIsReportedAsUnclean() throws {
        let pair = try TLSEmbeddedPair()
        try pair.connect()
        try pair.exchange()
        #expect(pair.serverEvents.handshakes.count == 1)
        pair.server.pipeline.fireChannelInactive()
        #expect(throws: TLSError(.uncleanShutdown)) { try pair.server.throwIfErrorCaught() }
        _ = try pair.server.finish(acceptAlreadyClosed: true)
        _ = try pair.client.finish()
    }
}
