import NIOHTTP1

/// The console's two cookies: the session (after login) and the login form's
/// CSRF token (before it). Both `HttpOnly` (no script reads them), `Secure`
/// (never sent over plain HTTP, except to a loopback address, where
/// browsers allow it), `SameSite=Strict` (never sent with a request another
/// site starts) and `Path=/admin` (never sent to the API the proxy forwards).
enum ConsoleCookies {
    static let session = "lmgate_session"
    static let login = "lmgate_login"

    /// The `Set-Cookie` value that sets `name` to `value` for `maxAge` seconds (0 deletes it).
    static func set(_ name: String, _ value: String, maxAge: Int64) -> String {
        "\(name)=\(value); HttpOnly; Secure; SameSite=Strict; Path=\(ConsoleRoute.root); Max-Age=\(maxAge)"
    }

    /// The value of the cookie `name` in a request's `Cookie` fields; `nil` when absent or given twice
    /// (a second one can only come from somewhere else, e.g. a cookie set for a parent domain).
    static func value(_ name: String, in headers: HTTPHeaders) -> String? {
        var found: String?
        for field in headers["cookie"] {
            for pair in field.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                guard found == nil else { return nil }
                found = String(trimmed[trimmed.index(after: equals)...])
            }
        }
        return found
    }
}
