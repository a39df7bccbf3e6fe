import NIOHTTP1

/// How a request body is delimited: decided once from what the client sent
/// (after ``RequestFramingCheck`` passed), then written by the proxy itself
/// on the head it sends upstream.
///
/// The proxy never forwards the client's framing fields as they came: a
/// `Connection: content-length` that made hop-by-hop removal drop the
/// length would let a body reach the upstream unframed, where it reads as a
/// second request. ``apply(to:method:)`` runs last, after every other change
/// to the upstream head.
enum RequestFraming: Equatable {
    /// No body.
    case none
    /// A body of exactly this many bytes (more than zero).
    case contentLength(Int)
    /// A chunked body.
    case chunked

    /// The framing of a head that passed ``RequestFramingCheck/check(_:)``.
    init(of head: HTTPRequestHead) {
        if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }) {
            self = length > 0 ? .contentLength(length) : .none
        } else if head.headers.contains(name: "transfer-encoding") {
            self = .chunked
        } else {
            self = .none
        }
    }

    var hasBody: Bool { self != .none }

    /// Replaces whatever framing fields `headers` holds with this framing.
    /// A bodiless request whose method normally carries a body gets
    /// `Content-Length: 0`, as nginx sends it.
    func apply(to headers: inout HTTPHeaders, method: HTTPMethod) {
        if self.isAlreadySet(in: headers) { return }
        // Only when present: `remove` makes the field storage unique even
        // when it removes nothing.
        if headers.contains(name: "content-length") { headers.remove(name: "content-length") }
        if headers.contains(name: "transfer-encoding") { headers.remove(name: "transfer-encoding") }
        switch self {
        case .none:
            if Self.methodCarriesBody(method) { headers.add(name: "content-length", value: "0") }
        case .contentLength(let length):
            headers.add(name: "content-length", value: String(length))
        case .chunked:
            headers.add(name: "transfer-encoding", value: "chunked")
        }
    }

    /// Whether `headers` already carry exactly this framing (the common case:
    /// a client's own correct framing), so nothing needs rewriting.
    private func isAlreadySet(in headers: HTTPHeaders) -> Bool {
        var lengths = 0
        var codings = 0
        var lengthMatches = false
        var codingIsChunked = false
        for (name, value) in headers {
            if HeaderName.equals(name, "content-length") {
                lengths += 1
                // Written as the proxy would write it: no leading zeros.
                if case .contentLength(let length) = self {
                    lengthMatches = value.utf8.first != UInt8(ascii: "0") && Int(value) == length
                }
            } else if HeaderName.equals(name, "transfer-encoding") {
                codings += 1
                codingIsChunked = HeaderName.equals(value, "chunked")
            }
        }
        switch self {
        case .none: return false
        case .contentLength: return lengths == 1 && codings == 0 && lengthMatches
        case .chunked: return lengths == 0 && codings == 1 && codingIsChunked
        }
    }

    private static func methodCarriesBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: return true
        default: return false
        }
    }
}
