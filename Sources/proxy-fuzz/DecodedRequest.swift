import NIOCore
import NIOEmbedded
import NIOHTTP1

/// One request as a decoder delivered it: the head, the body bytes, and
/// whether its end was seen (the last request of an input may be cut short).
struct DecodedRequest {
    var head: HTTPRequestHead
    var body: [UInt8] = []
    var ended = false

    /// Groups request parts into requests, in order.
    static func assemble(_ parts: [HTTPServerRequestPart]) -> [DecodedRequest] {
        var requests: [DecodedRequest] = []
        for part in parts {
            switch part {
            case .head(let head):
                requests.append(DecodedRequest(head: head))
            case .body(let buffer):
                requests[requests.count - 1].body += buffer.readableBytesView
            case .end:
                requests[requests.count - 1].ended = true
            }
        }
        return requests
    }

    /// What the upstream would read from `bytes`: NIO's request decoder on a
    /// fresh channel, as a plain HTTP/1.1 server reads its connection.
    /// Traps if the bytes do not parse: the proxy sent something malformed.
    static func reparse(_ bytes: [UInt8]) -> [DecodedRequest] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        } catch {
            preconditionFailure("the upstream cannot parse what the proxy sent (\(error)): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        var parts: [HTTPServerRequestPart] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        return assemble(parts)
    }
}
