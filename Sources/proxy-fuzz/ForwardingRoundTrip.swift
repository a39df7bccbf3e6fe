import NIOCore
import NIOEmbedded
import NIOHTTP1
import Proxy

/// One fuzz input taken through the proxy's request path and back.
///
/// The bytes are a client's: the proxy's client pipeline decodes them;
/// ``ForwardingFuzzProbe`` decides, request by request, what goes upstream
/// (the first refusal ends the connection, as the proxy closes after
/// answering itself); NIO's `HTTPRequestEncoder` serializes it as the upstream
/// connection does; a fresh decoder re-reads those bytes as the upstream
/// would. Traps (a crash libFuzzer records) if the upstream would see other
/// requests than the admitted ones (count, method, target, end, body bytes:
/// a framing that was lost or changed shows in the bodies) or a head that
/// breaks the trust boundary (not one `Host`, not the proxy's identity,
/// credentials left in, forwarding headers missing).
enum ForwardingRoundTrip {
    static func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        let received = self.decodeClient(bytes)
        let admitted = self.forward(received)
        let upstreamBytes = self.encodeUpstream(admitted)
        let seen = DecodedRequest.reparse(upstreamBytes)
        // Made only for a failure message: this runs thousands of times a second.
        func context() -> String { String(decoding: upstreamBytes, as: UTF8.self).debugDescription }
        precondition(
            seen.count == admitted.count,
            "the proxy admitted \(admitted.count) requests, the upstream reads \(seen.count): \(context())")
        for ((client, sent), read) in zip(zip(received, admitted), seen) {
            precondition(read.head.method == sent.head.method, "method changed: \(context())")
            precondition(read.head.uri == sent.head.uri, "target changed: \(context())")
            precondition(read.body == sent.body, "body of \(sent.body.count) bytes read as \(read.body.count): \(context())")
            precondition(read.ended == sent.ended, "request end moved: \(context())")
            self.checkTrustBoundary(read.head, clientHead: client.head, context: context)
            ForwardingFuzzProbe.checkBodyModel(sent.body)
        }
        // The whole input as a body too: JSON rarely survives inside a request.
        ForwardingFuzzProbe.checkBodyModel(Array(bytes))
    }

    /// The requests the proxy's client pipeline decodes from `bytes`, up to
    /// the first error (after which the proxy forwards nothing more).
    private static func decodeClient(_ bytes: UnsafeBufferPointer<UInt8>) -> [DecodedRequest] {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        do {
            try ForwardingFuzzProbe.configureClientPipeline(channel.pipeline.syncOperations)
        } catch {
            preconditionFailure("cannot set up the client pipeline: \(error)")
        }
        // A parser error is the proxy's 400; the parts decoded before it stand.
        _ = try? channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        var parts: [HTTPServerRequestPart] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        return DecodedRequest.assemble(parts)
    }

    /// The requests that go upstream, with the heads the proxy rewrites them to.
    private static func forward(_ requests: [DecodedRequest]) -> [DecodedRequest] {
        var probe = ForwardingFuzzProbe()
        var admitted: [DecodedRequest] = []
        for request in requests {
            guard let head = probe.upstreamHead(for: request.head) else { break }
            admitted.append(DecodedRequest(head: head, body: request.body, ended: request.ended))
            if !request.ended { break }
        }
        return admitted
    }

    /// The bytes on the upstream connection: each admitted request's head,
    /// body and end through `HTTPRequestEncoder`, one after the other.
    private static func encodeUpstream(_ requests: [DecodedRequest]) -> [UInt8] {
        let channel = EmbeddedChannel(handler: HTTPRequestEncoder())
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        do {
            for request in requests {
                try channel.writeOutbound(HTTPClientRequestPart.head(request.head))
                if !request.body.isEmpty {
                    try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: request.body))))
                }
                if request.ended { try channel.writeOutbound(HTTPClientRequestPart.end(nil)) }
            }
        } catch {
            preconditionFailure("the upstream encoder refused an admitted request: \(error)")
        }
        var bytes: [UInt8] = []
        while let data = try? channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { preconditionFailure("file region from the encoder") }
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// Traps if a head the upstream reads breaks what the proxy promises it:
    /// its own `Host`, the client's as `X-Forwarded-Host`, the proxy's
    /// identity, no credentials, the forwarding headers.
    private static func checkTrustBoundary(_ head: HTTPRequestHead, clientHead: HTTPRequestHead, context: () -> String) {
        let headers = head.headers
        // The client's one Host travels as X-Forwarded-Host; no `Connection` token may drop it.
        let clientHosts = clientHead.headers["host"]
        if clientHosts.count == 1 {
            precondition(headers["x-forwarded-host"] == clientHosts, "X-Forwarded-Host is not the client's Host: \(context())")
        }
        precondition(headers["host"] == [ForwardingFuzzProbe.upstreamHost], "Host is not the upstream's: \(context())")
        precondition(
            headers[ForwardingFuzzProbe.identityHeader] == [ForwardingFuzzProbe.identity],
            "identity header is not the proxy's: \(context())")
        precondition(!headers.contains(name: "authorization") && !headers.contains(name: "x-api-key"),
                     "credentials forwarded: \(context())")
        precondition(
            headers.contains(name: "x-forwarded-for") && headers.contains(name: "x-forwarded-proto")
                && headers.contains(name: "x-request-id"),
            "forwarding headers missing: \(context())")
    }
}
