import NIOHTTP1

/// What the proxy decides about a client's request head before admission,
/// in the order it decides it: refusals (methods, upgrades, `Host`), the
/// WebSocket origin, framing, the body limit, the target's normalization,
/// and last the removal of the client's hop-by-hop fields.
///
/// A value-level decision, so the ``ForwardingHandler`` and the fuzz probe
/// (``ForwardingFuzzProbe``) run the very same code: what the fuzzer checks
/// is what the proxy does.
struct RequestScreening {
    /// The outcome for one head.
    enum Outcome {
        /// The proxy answers the request itself and forwards nothing.
        case answer(ProxyErrorResponse, headers: HTTPHeaders, closingAtOnce: Bool)
        /// Admission decides on this head: the target normalized, the
        /// client's hop-by-hop fields removed.
        case admit(HTTPRequestHead)
    }

    /// How the client frames the body (``RequestFraming/none`` when the framing is invalid).
    let framing: RequestFraming
    /// Whether the request is a WebSocket handshake that passthrough may carry.
    let isWebSocketUpgrade: Bool
    let outcome: Outcome

    /// - Parameters:
    ///   - webSocket: the listener's WebSocket passthrough, nil when off.
    ///   - maxBodyBytes: the largest body the proxy takes.
    init(_ clientHead: HTTPRequestHead, webSocket: WebSocketPassthrough?, maxBodyBytes: Int) {
        let framingViolation = RequestFramingCheck.check(clientHead)
        self.framing = framingViolation == nil ? RequestFraming(of: clientHead) : .none
        if let refusal = RequestRefusal.refusal(for: clientHead, webSocketPassthrough: webSocket != nil) {
            (self.isWebSocketUpgrade, self.outcome) =
                (false, .answer(refusal.response, headers: refusal.headers, closingAtOnce: refusal.closesAtOnce))
            return
        }
        // Past the refusal, an upgrade request can only be a valid WebSocket handshake.
        self.isWebSocketUpgrade = webSocket != nil && WebSocketUpgradeRequest.verdict(for: clientHead) == .webSocket
        self.outcome = Self.outcome(
            clientHead, framing: self.framing, framingViolation: framingViolation,
            webSocket: self.isWebSocketUpgrade ? webSocket : nil, maxBodyBytes: maxBodyBytes)
    }

    private static func outcome(
        _ clientHead: HTTPRequestHead, framing: RequestFraming, framingViolation: RequestFramingCheck.Violation?,
        webSocket: WebSocketPassthrough?, maxBodyBytes: Int
    ) -> Outcome {
        // A WebSocket handshake is answered by closing, whatever the answer.
        let closingAtOnce = webSocket != nil
        if let webSocket,
            clientHead.headers["origin"].count > 1
                || !WebSocketOriginCheck.permits(
                    origin: clientHead.headers.first(name: "origin"), host: clientHead.headers.first(name: "host"),
                    allowed: webSocket.origins)
        {
            return .answer(.webSocketOriginNotAllowed, headers: [:], closingAtOnce: closingAtOnce)
        }
        if let framingViolation {
            return .answer(.badRequest(framingViolation.message), headers: [:], closingAtOnce: closingAtOnce)
        }
        if case .contentLength(let length) = framing, length > maxBodyBytes {
            return .answer(.bodyTooLarge(limit: maxBodyBytes), headers: [:], closingAtOnce: closingAtOnce)
        }
        var head = clientHead
        switch RequestTarget.normalized(clientHead.uri) {
        case .failure(let violation):
            return .answer(.badRequest(violation.message), headers: [:], closingAtOnce: closingAtOnce)
        case .success(let target):
            // Equal strings sharing storage compare in constant time: the common, unchanged target.
            if target != clientHead.uri { head.uri = target }
        }
        // On the client's head, before admission: whatever admission adds
        // (the identity header, an upstream key) cannot be removed by a
        // `Connection` token.
        HopByHopHeaders.remove(from: &head.headers)
        return .admit(head)
    }
}
