import NIOCore

/// What to do when opening a connection to the upstream picked for a request
/// fails: try another upstream while any is untried, else answer 504 for a
/// connect timeout and 502 for anything else.
enum UpstreamFailover {
    enum Decision: Equatable {
        /// Pick another upstream (the failed one is excluded).
        case tryAnother
        /// Every upstream was tried: answer with this response.
        case answer(ProxyErrorResponse)
    }

    /// - Parameters:
    ///   - error: why the connection could not be opened.
    ///   - tried: how many upstreams this request has tried, the failed one included.
    ///   - upstreams: how many upstreams there are.
    static func afterConnectFailure(_ error: any Error, tried: Int, upstreams: Int) -> Decision {
        if tried < upstreams { return .tryAnother }
        if case ChannelError.connectTimeout = error { return .answer(.upstreamTimeout) }
        return .answer(.upstreamUnavailable)
    }
}
