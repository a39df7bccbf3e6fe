import NIOHTTP1
import Testing

@testable import Backend

/// ``LoopbackRequestGuard`` on its own: which heads reach the API.
@Suite("Backend loopback request guard")
struct ServerLoopbackRequestGuardTests {
    private func head(
        _ method: HTTPMethod = .GET, _ uri: String = "/v1/models", version: HTTPVersion = .http1_1, headers: [(String, String)]
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    private func status(_ verdict: LoopbackRequestGuard.Verdict) -> Int? {
        if case .refuse(let error) = verdict { return Int(error.status.code) }
        return nil
    }

    private let open = LoopbackRequestGuard(apiKey: nil)

    @Test(arguments: [
        "127.0.0.1", "127.0.0.1:1234", "localhost", "LocalHost:1234", "[::1]", "[::1]:1234", "127.0.0.2:1234",
        "localhost:8080",
    ])
    func loopbackHostsAreAdmitted(host: String) {
        #expect(open.check(head(headers: [("Host", host)]), path: "/v1/models") == .admit)
    }

    @Test(arguments: [
        "rebind.example", "rebind.example:1234", "localhost.:1234", "localhost:99999", "localhost:-1", "localhost.rebind.example",
        "10.0.0.1:1234", "[::2]:1234", "::1", "[127.0.0.1]", "127.0.0.1:", "127.0.0.1:1234x", "[::1]x", "", "0.0.0.0:1234",
    ])
    func otherHostsAreRefusedWith403(host: String) {
        #expect(status(open.check(head(headers: [("Host", host)]), path: "/v1/models")) == 403)
    }

    @Test func missingHostIs400OnHTTP11AndAdmittedOnHTTP10() {
        #expect(status(open.check(head(headers: []), path: "/v1/models")) == 400)
        #expect(open.check(head(version: .http1_0, headers: []), path: "/v1/models") == .admit)
        #expect(status(open.check(head(headers: [("Host", "localhost"), ("Host", "rebind.example")]), path: "/v1/models")) == 400)
    }

    @Test func foreignOriginsAreRefusedAndLoopbackOnesAdmitted() {
        for origin in ["https://evil.example", "null", "http://rebind.example:1234", "http://127.0.0.1.evil.example", "file://"] {
            #expect(status(open.check(head(headers: [("Host", "127.0.0.1:1234"), ("Origin", origin)]), path: "/v1/models")) == 403, "\(origin)")
        }
        for origin in ["http://localhost:3000", "http://127.0.0.1:1234", "https://[::1]:8443", "http://localhost"] {
            #expect(open.check(head(headers: [("Host", "127.0.0.1:1234"), ("Origin", origin)]), path: "/v1/models") == .admit, "\(origin)")
        }
    }

    @Test func postsMustBeJSON() {
        func post(_ contentTypes: [String]) -> Int? {
            status(open.check(head(.POST, "/v1/chat/completions", headers: [("Host", "localhost")] + contentTypes.map { ("Content-Type", $0) }), path: "/v1/chat/completions"))
        }
        #expect(post(["text/plain"]) == 415)
        #expect(post(["application/x-www-form-urlencoded"]) == 415)
        #expect(post(["multipart/form-data; boundary=x"]) == 415)
        #expect(post(["application/jsonx"]) == 415)
        #expect(post([]) == 415)
        #expect(post(["application/json", "text/plain"]) == 415)
        #expect(post(["application/json"]) == nil)
        #expect(post(["Application/JSON; charset=utf-8"]) == nil)
    }

    @Test func withAKeyEveryEndpointButHealthNeedsIt() throws {
        let key = try #require(BackendAPIKey("lmg_per-start-secret"))
        let keyed = LoopbackRequestGuard(apiKey: key)
        let host = ("Host", "127.0.0.1:1234")
        #expect(status(keyed.check(head(headers: [host]), path: "/v1/models")) == 401)
        #expect(status(keyed.check(head(headers: [host]), path: "/metrics")) == 401)
        #expect(status(keyed.check(head(headers: [host, ("Authorization", "Bearer lmg_per-start-secreT")]), path: "/v1/models")) == 401)
        #expect(status(keyed.check(head(headers: [host, ("Authorization", "Bearer lmg_per-start-secret2")]), path: "/v1/models")) == 401)
        #expect(status(keyed.check(head(headers: [host, ("Authorization", "Bearer lmg_per-start")]), path: "/v1/models")) == 401)
        #expect(status(keyed.check(head(headers: [host, ("Authorization", "Basic bG1nX3Blci1zdGFydC1zZWNyZXQ=")]), path: "/v1/models")) == 401)
        #expect(keyed.check(head(headers: [host, ("Authorization", "Bearer lmg_per-start-secret")]), path: "/v1/models") == .admit)
        #expect(keyed.check(head(headers: [host, ("Authorization", "bearer lmg_per-start-secret")]), path: "/v1/models") == .admit)
        #expect(keyed.check(head(headers: [host, ("x-api-key", "lmg_per-start-secret")]), path: "/v1/models") == .admit)
        #expect(status(keyed.check(head(headers: [host, ("x-api-key", "lmg_per-start-secret ")]), path: "/v1/models")) == 401)
        // Authorization decides when present: the key there, beside a client's x-api-key a proxy passed on, is admitted;
        // the key in x-api-key beside a wrong Authorization is not.
        #expect(
            keyed.check(head(headers: [host, ("x-api-key", "client"), ("Authorization", "Bearer lmg_per-start-secret")]), path: "/v1/models")
                == .admit)
        #expect(
            status(keyed.check(head(headers: [host, ("x-api-key", "lmg_per-start-secret"), ("Authorization", "Bearer no")]), path: "/v1/models"))
                == 401)
        #expect(
            status(
                keyed.check(
                    head(headers: [host, ("Authorization", "Bearer lmg_per-start-secret"), ("Authorization", "Bearer lmg_per-start-secret")]),
                    path: "/v1/models")) == 401)
        #expect(keyed.check(head(.GET, "/health", headers: [host]), path: "/health") == .admit)
        // Health without the key is still only for loopback names.
        #expect(status(keyed.check(head(.GET, "/health", headers: [("Host", "rebind.example")]), path: "/health")) == 403)
        #expect(status(keyed.check(head(.POST, "/health", headers: [host, ("Content-Type", "application/json")]), path: "/health")) == 401)
        #expect(BackendAPIKey("") == nil)
    }

    @Test func theKeyHoldersForwardedOriginIsAdmitted() throws {
        // The proxy forwards the Origin of a browser client its CORS policy admitted, with the key.
        let key = try #require(BackendAPIKey("k3y"))
        let keyed = LoopbackRequestGuard(apiKey: key)
        let headers = [("Host", "127.0.0.1:1234"), ("Origin", "https://app.example")]
        #expect(status(keyed.check(head(headers: headers), path: "/v1/models")) == 401)
        #expect(keyed.check(head(headers: headers + [("Authorization", "Bearer k3y")]), path: "/v1/models") == .admit)
    }
}
