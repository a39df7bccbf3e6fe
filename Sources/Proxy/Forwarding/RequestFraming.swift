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
        var fields = FramingFields()
        for (name, value) in headers { fields.observe(name: name, value: value) }
        self.apply(to: &headers, method: method, holding: fields)
    }

    /// As ``apply(to:method:)``, for `headers` whose framing fields the
    /// caller already observed (``FramingFields``) in a pass of its own.
    func apply(to headers: inout HTTPHeaders, method: HTTPMethod, holding fields: FramingFields) {
        if self.isAlreadySet(in: fields) { return }
        // Only when present: `remove` makes the field storage unique even
        // when it removes nothing.
        if fields.lengths > 0 { headers.remove(name: "content-length") }
        if fields.codings > 0 { headers.remove(name: "transfer-encoding") }
        switch self {
        case .none:
            if Self.methodCarriesBody(method) { headers.add(name: "content-length", value: "0") }
        case .contentLength(let length):
            headers.add(name: "content-length", value: String(length))
        case .chunked:
            headers.add(name: "transfer-encoding", value: "chunked")
        }
    }

    /// The framing fields of a head, gathered one field at a time.
    struct FramingFields {
        /// How many `Content-Length` fields, and the last one's value.
        private(set) var lengths = 0
        private(set) var lastLength: String?
        /// How many `Transfer-Encoding` fields, and whether the last one is exactly `chunked`.
        private(set) var codings = 0
        private(set) var lastCodingIsChunked = false

        /// Counts `name` if it is a framing field.
        mutating func observe(name: String, value: String) {
            if HeaderName.equals(name, "content-length") {
                self.lengths += 1
                self.lastLength = value
            } else if HeaderName.equals(name, "transfer-encoding") {
                self.codings += 1
                self.lastCodingIsChunked = HeaderName.equals(value, "chunked")
            }
        }
    }

    /// Whether the fields already carry exactly this framing (the common case:
    /// a client's own correct framing), so nothing needs rewriting.
    private func isAlreadySet(in fields: FramingFields) -> Bool {
        switch self {
        case .none:
            return false
        case .contentLength(let length):
            // Written as the proxy would write it: no leading zeros.
            guard fields.lengths == 1, fields.codings == 0, let value = fields.lastLength else { return false }
            return value.utf8.first != UInt8(ascii: "0") && Int(value) == length
        case .chunked:
            return fields.lengths == 0 && fields.codings == 1 && fields.lastCodingIsChunked
        }
    }

    private static func methodCarriesBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: return true
        default: return false
        }
    }
}
