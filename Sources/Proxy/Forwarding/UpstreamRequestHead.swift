import NIOHTTP1

/// Builds the request head sent upstream from the admitted one.
///
/// Hop-by-hop fields were already removed from the client's head before
/// admission (``HopByHopHeaders``), so nothing admission added is lost here.
/// `Host` names the upstream; the client's host goes in `X-Forwarded-Host`,
/// its address is appended to `X-Forwarded-For`, `X-Forwarded-Proto` says
/// whether it used TLS, and `X-Request-ID` is kept if valid or generated.
/// Framing is set last, from what the client sent (``RequestFraming``), so
/// no field left in the head can change how the upstream delimits the body.
/// `Expect: 100-continue` is not passed on: the proxy answers it itself
/// (as nginx does). A WebSocket handshake gets `Connection: upgrade` and
/// `Upgrade: websocket` from the proxy, since the client's went with its
/// hop-by-hop fields.
enum UpstreamRequestHead {
    /// Information about the client connection the request arrived on.
    struct ClientContext {
        var address: String
        var usesTLS: Bool
    }

    /// - Returns: the head to send upstream, the request ID it carries, and
    ///   whether the client waits for `100 Continue` before sending its body.
    static func make(
        from admittedHead: HTTPRequestHead,
        framing: RequestFraming,
        webSocketUpgrade: Bool = false,
        client: ClientContext,
        upstreamHost: String,
        requestIDs: inout RequestID.Generator
    ) -> (head: HTTPRequestHead, requestID: String, expectsContinue: Bool) {
        var headers = admittedHead.headers
        // Room for what is added below (host, x-forwarded-*, x-request-id,
        // upgrade) in one allocation, instead of the array growing by
        // doubling as they are added one by one.
        headers.reserveCapacity(headers.count + 7)
        let expectsContinue = headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
        if expectsContinue { headers.remove(name: "expect") }

        let originalHost = headers.first(name: "host")
        headers.replaceOrAdd(name: "host", value: upstreamHost)
        if let originalHost {
            headers.replaceOrAdd(name: "x-forwarded-host", value: originalHost)
        } else if headers.contains(name: "x-forwarded-host") {
            headers.remove(name: "x-forwarded-host")
        }

        let earlier = headers["x-forwarded-for"].joined(separator: ", ")
        headers.replaceOrAdd(
            name: "x-forwarded-for",
            value: earlier.isEmpty ? client.address : "\(earlier), \(client.address)"
        )
        headers.replaceOrAdd(name: "x-forwarded-proto", value: client.usesTLS ? "https" : "http")

        let requestID: String
        if let given = headers.first(name: "x-request-id"), headers["x-request-id"].count == 1, RequestID.isValid(given) {
            requestID = given
        } else {
            requestID = requestIDs.generate()
            headers.replaceOrAdd(name: "x-request-id", value: requestID)
        }

        // Upstream connections are always kept alive by the proxy, whatever
        // the client asked; admission must not have added one either.
        if headers.contains(name: "connection") { headers.remove(name: "connection") }
        framing.apply(to: &headers, method: admittedHead.method)
        if webSocketUpgrade {
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: "websocket")
        }
        // The admitted head with these fields, rather than a new head: a new
        // one allocates storage for method, URI and version on every request,
        // while this one shares the admitted head's (copied only if the
        // version has to change).
        var head = admittedHead
        head.headers = headers
        if head.version != .http1_1 { head.version = .http1_1 }
        return (head, requestID, expectsContinue)
    }
}
