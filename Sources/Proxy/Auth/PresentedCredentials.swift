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
                let key = String(parameter).trimmingSpaces()
                self = key.isEmpty ? .malformed("key") : .key(key)
                return
            }
        }
        if let value = apiKeys.first, methods.acceptsKey {
            let key = value.trimmingSpaces()
            self = key.isEmpty ? .malformed("key") : .key(key)
            return
        }
        self = .none
    }
}
