import NIOCore
import NIOHTTP1

/// The proxy's per-request forwarding decisions, exposed to the coverage-guided
/// fuzz target (`Sources/proxy-fuzz`, run by `scripts/fuzz-proxy`).
///
/// The fuzz target decodes arbitrary client bytes with the proxy's own
/// server-side pipeline (``configureClientPipeline(_:)``), asks
/// ``upstreamHead(for:)`` what the proxy would send upstream for each request
/// head, encodes that as the upstream connection does, and checks that the
/// upstream would re-parse exactly the requests admitted here.
///
/// This file is the only coupling between the fuzzer and the forwarding
/// internals: it repeats, in the order ``ForwardingHandler`` applies them, the
/// framing check, admission's head rewriting (with a valid key, so that
/// credentials are stripped and the identity set) and the upstream head. When
/// those internals change, only this file follows them.
public struct ForwardingFuzzProbe {
    /// The identity admission gives every request the probe admits.
    public static let identity = "key:fuzz"
    /// The `Host` the upstream head names, as a balancer's upstream would.
    public static let upstreamHost = "127.0.0.1:1234"
    /// The header carrying ``identity`` upstream.
    public static var identityHeader: String { AccessConfiguration().identityHeader }

    private var requestIDs = RequestID.Generator()
    private let access: AccessConfiguration

    public init() {
        var access = AccessConfiguration()
        // Authentication configured: client credentials and identity headers are replaced.
        access.apiKey = "fuzz-probe-key"
        self.access = access
    }

    /// Adds the HTTP/1.1 decoding of a client connection, as `ProxyServer` sets it up.
    public static func configureClientPipeline(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: false,
            withOutboundHeaderValidation: true,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: .init())
    }

    /// The head the proxy sends upstream for a client's request head, or nil
    /// when the proxy answers the request itself (and then closes the connection).
    public mutating func upstreamHead(for clientHead: HTTPRequestHead) -> HTTPRequestHead? {
        if RequestFramingCheck.check(clientHead) != nil { return nil }
        var admitted = AccessControl.upstreamHead(clientHead, identity: Self.identity, configuration: self.access)
        if admitted.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            admitted.headers.remove(name: "expect")
        }
        var head = UpstreamRequestHead.make(
            from: admitted, client: .init(address: "192.0.2.1", usesTLS: true), upstreamHost: "",
            requestIDs: &self.requestIDs
        ).head
        head.headers.replaceOrAdd(name: "host", value: Self.upstreamHost)
        return head
    }
}
