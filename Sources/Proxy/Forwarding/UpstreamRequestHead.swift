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
    ///
    /// The admitted fields are read in one pass (this runs on every
    /// request): fields the proxy sets itself are left out as they go by,
    /// and what it needs of them (the client's `Host`, earlier
    /// `X-Forwarded-For` values, the request ID, the framing fields) is
    /// noted on the way. The result is the same fields, in the same order,
    /// as removing and re-adding each field in turn would give.
    ///
    /// With `dropsAcceptEncoding` (the response's usage is read as it
    /// passes, so it must come uncompressed) `Accept-Encoding` is left out
    /// in the same pass.
    static func make(
        from admittedHead: HTTPRequestHead,
        framing: RequestFraming,
        webSocketUpgrade: Bool = false,
        dropsAcceptEncoding: Bool = false,
        client: ClientContext,
        upstreamHost: String,
        requestIDs: inout RequestID.Generator
    ) -> (head: HTTPRequestHead, requestID: String, expectsContinue: Bool) {
        // Room for what is added below (host, x-forwarded-*, x-request-id,
        // framing, upgrade) in one allocation.
        var fields: [(String, String)] = []
        fields.reserveCapacity(admittedHead.headers.count + 7)
        var originalHost: String?
        var forwardedFor: String?
        var requestIDCount = 0
        var givenRequestID: String?
        var hasExpect = false
        var framingFields = RequestFraming.FramingFields()
        for (name, value) in admittedHead.headers {
            switch SetByProxy(name) {
            case .host:
                if originalHost == nil { originalHost = value }
            case .forwardedFor:
                forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value
            case .forwardedHost, .forwardedProto, .connection:
                break
            case .acceptEncoding:
                if !dropsAcceptEncoding { fields.append((name, value)) }
            case .requestID:
                requestIDCount += 1
                if givenRequestID == nil { givenRequestID = value }
                fields.append((name, value))  // kept in place if it is the one valid ID
            case .expect:
                hasExpect = true
                fields.append((name, value))  // removed below if it asks for 100-continue
            case .none:
                framingFields.observe(name: name, value: value)
                fields.append((name, value))
            }
        }
        // `consume`: with `fields` still alive, the first field added below
        // copied the whole array (one more allocation per request, measured).
        var headers = HTTPHeaders(consume fields)
        let expectsContinue = hasExpect && headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
        if expectsContinue { headers.remove(name: "expect") }

        headers.add(name: "host", value: upstreamHost)
        if let originalHost { headers.add(name: "x-forwarded-host", value: originalHost) }
        // Earlier values joined as they came (an empty one included), then the client's address.
        headers.add(
            name: "x-forwarded-for",
            value: forwardedFor.map { $0.isEmpty ? client.address : "\($0), \(client.address)" } ?? client.address)
        headers.add(name: "x-forwarded-proto", value: client.usesTLS ? "https" : "http")

        let requestID: String
        if requestIDCount == 1, let givenRequestID, RequestID.isValid(givenRequestID) {
            requestID = givenRequestID
        } else {
            requestID = requestIDs.generate()
            if requestIDCount > 0 { headers.remove(name: "x-request-id") }
            headers.add(name: "x-request-id", value: requestID)
        }

        // Upstream connections are always kept alive by the proxy, whatever
        // the client asked; admission must not have added a `Connection`
        // either (left out above).
        framing.apply(to: &headers, method: admittedHead.method, holding: framingFields)
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

    /// The fields the proxy sets (or drops) itself, recognized by name
    /// without allocating; `nil` for every other field.
    private enum SetByProxy {
        case host, forwardedHost, forwardedFor, forwardedProto, requestID, connection, expect
        /// Dropped only when asked (`dropsAcceptEncoding`).
        case acceptEncoding

        init?(_ name: String) {
            // Ruled out by length first: most names match none of these lengths.
            switch name.utf8.count {
            case 4 where HeaderName.equals(name, "host"): self = .host
            case 6 where HeaderName.equals(name, "expect"): self = .expect
            case 10 where HeaderName.equals(name, "connection"): self = .connection
            case 12 where HeaderName.equals(name, "x-request-id"): self = .requestID
            case 15 where HeaderName.equals(name, "x-forwarded-for"): self = .forwardedFor
            case 15 where HeaderName.equals(name, "accept-encoding"): self = .acceptEncoding
            case 16 where HeaderName.equals(name, "x-forwarded-host"): self = .forwardedHost
            case 17 where HeaderName.equals(name, "x-forwarded-proto"): self = .forwardedProto
            default: return nil
            }
        }
    }
}
