import NIOHTTP1

/// Builds the request head sent upstream from the one a client sent.
///
/// Hop-by-hop fields are removed; `Host` names the upstream; the client's
/// host goes in `X-Forwarded-Host`, its address is appended to
/// `X-Forwarded-For`, `X-Forwarded-Proto` says whether it used TLS, and
/// `X-Request-ID` is kept if valid or generated. Framing is set explicitly:
/// `Content-Length` when the client gave one, `Transfer-Encoding: chunked`
/// when it sent a chunked body, nothing when it sent no body.
enum UpstreamRequestHead {
    /// Information about the client connection the request arrived on.
    struct ClientContext {
        var address: String
        var usesTLS: Bool
    }

    /// - Returns: the head to send upstream and the request ID it carries.
    static func make(
        from clientHead: HTTPRequestHead,
        client: ClientContext,
        upstreamHost: String,
        requestIDs: inout RequestID.Generator
    ) -> (head: HTTPRequestHead, requestID: String) {
        var headers = clientHead.headers
        let wasChunked = headers[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked"
        HopByHopHeaders.remove(from: &headers)

        let originalHost = headers.first(name: "host")
        headers.replaceOrAdd(name: "host", value: upstreamHost)
        if let originalHost {
            headers.replaceOrAdd(name: "x-forwarded-host", value: originalHost)
        } else {
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

        if wasChunked {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        // Upstream connections are always kept alive by the proxy, whatever the client asked.
        var head = HTTPRequestHead(version: .http1_1, method: clientHead.method, uri: clientHead.uri, headers: headers)
        head.headers.remove(name: "connection")
        return (head, requestID)
    }
}
