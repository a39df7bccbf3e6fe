import NIOHTTP1

/// What the console answers: a status, fields and an HTML body.
struct ConsoleResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: String

    /// An HTML page; never cached, never framed by another site, no script, no outside resource.
    static func html(_ body: String, status: HTTPResponseStatus = .ok, cookies: [String] = []) -> ConsoleResponse {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/html; charset=utf-8")
        headers.add(name: "cache-control", value: "no-store")
        headers.add(
            name: "content-security-policy",
            value: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        headers.add(name: "x-frame-options", value: "DENY")
        headers.add(name: "x-content-type-options", value: "nosniff")
        headers.add(name: "referrer-policy", value: "no-referrer")
        for cookie in cookies { headers.add(name: "set-cookie", value: cookie) }
        return ConsoleResponse(status: status, headers: headers, body: body)
    }

    /// A `303 See Other` to `location` (a console path), after a login or logout.
    static func redirect(to location: String, cookies: [String] = []) -> ConsoleResponse {
        var response = Self.html("", status: .seeOther, cookies: cookies)
        response.headers.add(name: "location", value: location)
        return response
    }
}
