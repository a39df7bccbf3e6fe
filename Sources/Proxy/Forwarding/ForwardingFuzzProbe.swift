import NIOCore
import NIOHTTP1

/// The proxy's per-request forwarding decisions, exposed to the coverage-guided
/// fuzz target (`Sources/proxy-fuzz`, run by `scripts/fuzz-proxy`).
///
/// The fuzz target decodes arbitrary client bytes with the proxy's own
/// client-side handlers (``configureClientPipeline(_:)``), asks
/// ``upstreamHead(for:)`` what the proxy would send upstream for each request
/// head, encodes that as the upstream connection does, and checks that the
/// upstream would re-parse exactly the requests admitted here.
///
/// It calls the code the ``ForwardingHandler`` calls, in its order:
/// ``RequestScreening`` (refusals, framing, target, hop-by-hop fields), the
/// head rewriting of admission with a valid key (``UpstreamIdentity``: client
/// credentials and identity headers out, the identity in), and
/// ``UpstreamRequestHead``, then names the upstream in `Host` as
/// `startForwarding` does.
public struct ForwardingFuzzProbe {
    /// The identity admission gives every request the probe admits.
    public static let identity = "key:fuzz"
    /// The `Host` the upstream head names, as a balancer's upstream would.
    public static let upstreamHost = "127.0.0.1:1234"
    /// The header carrying ``identity`` upstream.
    public static var identityHeader: String { AccessConfiguration().identityHeader }
    /// The largest request head, as the proxy's default configuration has it.
    static let maxHeaderBytes = ProxyConfiguration.Limits().maxHeaderBytes

    private var requestIDs = RequestID.Generator()
    private let access: AccessConfiguration

    public init() {
        var access = AccessConfiguration()
        // Authentication configured: client credentials and identity headers are replaced.
        access.apiKey = "fuzz-probe-key"
        self.access = access
    }

    /// Adds the HTTP/1.1 handlers of a client connection, as `ProxyServer` sets them up.
    public static func configureClientPipeline(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHandlers(ClientHTTPPipeline.makeHandlers(maxHeaderBytes: Self.maxHeaderBytes))
    }

    /// The head the proxy sends upstream for a client's request head, or nil
    /// when the proxy answers the request itself (and then closes the connection).
    public mutating func upstreamHead(for clientHead: HTTPRequestHead) -> HTTPRequestHead? {
        let screening = RequestScreening(clientHead, webSocket: nil, maxBodyBytes: .max)
        guard case .admit(let screened) = screening.outcome else { return nil }
        let admitted = UpstreamIdentity.head(screened, identity: Self.identity, configuration: self.access)
        var head = UpstreamRequestHead.make(
            from: admitted, framing: screening.framing, client: .init(address: "192.0.2.1", usesTLS: true),
            upstreamHost: "", requestIDs: &self.requestIDs
        ).head
        head.headers.replaceOrAdd(name: "host", value: Self.upstreamHost)
        return head
    }
}
