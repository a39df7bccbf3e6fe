import NIOHTTP1

/// The credentials a request carries, as far as its listener accepts them:
/// `Authorization: Basic …`, `Authorization: Bearer KEY` or `x-api-key: KEY`.
enum PresentedCredentials {
    case none
    /// A credential header that cannot be read (the method is named for the audit log).
    case malformed(String)
    /// The key as the request carries it (a view of the header's value:
    /// only its digest is ever needed).
    case key(Substring)
    case basic(BasicCredentials)

    init(_ headers: HTTPHeaders, methods: AccessConfiguration.Methods) {
        // One pass over the fields, with no arrays made: this runs on every
        // authenticated request.
        var authorization: String?
        var apiKey: String?
        for (name, value) in headers {
            if HeaderName.equals(name, "authorization") {
                if authorization != nil {
                    self = .malformed("duplicate")
                    return
                }
                authorization = value
            } else if HeaderName.equals(name, "x-api-key") {
                if apiKey != nil {
                    self = .malformed("duplicate")
                    return
                }
                apiKey = value
            }
        }
        if let value = authorization {
            // Split at the first space by bytes, not Characters (every
            // request): slicing the String itself, even at a byte index,
            // walks Characters to align the index.
            let bytes = value.utf8
            let space = bytes.firstIndex(of: UInt8(ascii: " ")) ?? bytes.endIndex
            let scheme = Substring(bytes[..<space])
            let parameter = Substring(bytes[space...].drop { $0 == UInt8(ascii: " ") })
            if HeaderName.equals(scheme, "basic") && methods.acceptsBasic {
                self = BasicCredentials(headerValue: parameter).map { .basic($0) } ?? .malformed("basic")
                return
            }
            if HeaderName.equals(scheme, "bearer") && methods.acceptsKey {
                let key = Self.trimmed(parameter)
                self = key.isEmpty ? .malformed("key") : .key(key)
                return
            }
        }
        if let value = apiKey, methods.acceptsKey {
            let key = Self.trimmed(Substring(value))
            self = key.isEmpty ? .malformed("key") : .key(key)
            return
        }
        self = .none
    }

    /// `text` without leading and trailing spaces and tabs. (On every
    /// authenticated request, so it scans UTF-8 bytes rather than Characters.)
    static func trimmed(_ text: Substring) -> Substring {
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }),
            let last = bytes.lastIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") })
        else { return "" }
        return Substring(bytes[first...last])
    }
}
