import NIOHTTP1

/// The credentials a request carries, as far as its listener accepts them:
/// `Authorization: Basic …`, `Authorization: Bearer KEY` or `x-api-key: KEY`.
enum PresentedCredentials {
    case none
    /// A credential header that cannot be read (the method is named for the audit log).
    case malformed(String)
    case key(String)
    case basic(BasicCredentials)

    init(_ headers: HTTPHeaders, methods: AccessConfiguration.Methods) {
        let authorization = headers["authorization"]
        let apiKeys = headers["x-api-key"]
        if authorization.count > 1 || apiKeys.count > 1 {
            self = .malformed("duplicate")
            return
        }
        if let value = authorization.first {
            let scheme = value.prefix { $0 != " " }.lowercased()
            let parameter = value.drop { $0 != " " }.drop { $0 == " " }
            if scheme == "basic" && methods.acceptsBasic {
                self = BasicCredentials(headerValue: parameter).map { .basic($0) } ?? .malformed("basic")
                return
            }
            if scheme == "bearer" && methods.acceptsKey {
                let key = Self.trimmed(parameter)
                self = key.isEmpty ? .malformed("key") : .key(String(key))
                return
            }
        }
        if let value = apiKeys.first, methods.acceptsKey {
            let key = Self.trimmed(Substring(value))
            self = key.isEmpty ? .malformed("key") : .key(String(key))
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
        return text[first...last]
    }
}
