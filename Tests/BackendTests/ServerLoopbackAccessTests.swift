import Foundation
import Testing

@testable import Backend

/// The real server refuses what a browser page on this machine can send to
/// 127.0.0.1:1234 (DNS rebinding, cross-origin posts), and under `serve`
/// anyone without the per-start key. Its model is still loading: a request
/// that got past the checks answers 503, so each test fails on a server
/// without them.
@Suite("Backend loopback access", .serialized)
struct ServerLoopbackAccessTests {
    @Test func aRebindingHostIsRefusedWith403() async throws {
        try await BackendUnderTest.run { backend in
            let refused = try await backend.exchange("GET /v1/models HTTP/1.1", ["Host: rebind.example:\(backend.port)"])
            #expect(refused.status == 403)
            #expect(refused.errorCode == "host_not_allowed")
            let admitted = try await backend.exchange("GET /v1/models HTTP/1.1", ["Host: 127.0.0.1:\(backend.port)"])
            #expect(admitted.status == 503)
            let missing = try await backend.exchange("GET /v1/models HTTP/1.1", [])
            #expect(missing.status == 400)
        }
    }

    @Test func aCrossOriginTextPlainPostIsRefused() async throws {
        try await BackendUnderTest.run { backend in
            let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
            // What a page can send without a CORS preflight.
            let simple = try await backend.exchange(
                "POST /v1/chat/completions HTTP/1.1",
                ["Host: 127.0.0.1:\(backend.port)", "Origin: https://evil.example", "Content-Type: text/plain"], body: body)
            #expect(simple.status == 403)
            #expect(simple.errorCode == "origin_not_allowed")
            // Without an Origin (a browser sends none on some simple requests): the content type still decides.
            let plain = try await backend.exchange(
                "POST /v1/chat/completions HTTP/1.1", ["Host: 127.0.0.1:\(backend.port)", "Content-Type: text/plain"], body: body)
            #expect(plain.status == 415)
            #expect(plain.errorCode == "unsupported_media_type")
            let json = try await backend.exchange(
                "POST /v1/chat/completions HTTP/1.1", ["Host: localhost", "Content-Type: application/json; charset=utf-8"], body: body)
            #expect(json.status == 503)
        }
    }

    @Test func withAKeyOnlyHealthAnswersWithoutIt() async throws {
        let key = "lmg_" + UUID().uuidString
        let apiKey = try #require(BackendAPIKey(key))
        try await BackendUnderTest.run(apiKey: apiKey) { backend in
            let host = "Host: 127.0.0.1:\(backend.port)"
            let missing = try await backend.exchange("GET /v1/models HTTP/1.1", [host])
            #expect(missing.status == 401)
            #expect(missing.head.lowercased().contains("www-authenticate: bearer"))
            #expect(!missing.body.contains(key))
            #expect(try await backend.exchange("GET /metrics HTTP/1.1", [host]).status == 401)
            #expect(try await backend.exchange("GET /v1/models HTTP/1.1", [host, "Authorization: Bearer wrong"]).status == 401)
            #expect(try await backend.exchange("GET /v1/models HTTP/1.1", [host, "Authorization: Bearer \(key)"]).status == 503)
            let health = try await backend.exchange("GET /health HTTP/1.1", [host])
            #expect(health.status == 503)
            #expect(health.body == #"{"status":"loading"}"#)
        }
    }

    @Test func aMadeUpPathDoesNotBecomeAMetricsLabel() async throws {
        try await BackendUnderTest.run { backend in
            let path = "/made-up-\(UUID().uuidString)"
            // Larger than the server takes: answered 413, which is counted under the path's endpoint.
            let body = String(repeating: "x", count: BackendServer.maxBodyBytes + 1)
            let tooLarge = try await backend.exchange(
                "POST \(path) HTTP/1.1", ["Host: 127.0.0.1", "Content-Type: application/json"], body: body)
            #expect(tooLarge.status == 413)
            let notFound = try await backend.exchange("GET \(path)2 HTTP/1.1", ["Host: 127.0.0.1"])
            #expect(notFound.status == 404)
            let metrics = try await backend.exchange("GET /metrics HTTP/1.1", ["Host: 127.0.0.1"]).body
            #expect(!metrics.contains("made-up"))
            #expect(metrics.contains(#"lmgate_backend_requests_total{endpoint="other",status="413"} 1"#))
            #expect(metrics.contains(#"lmgate_backend_requests_total{endpoint="other",status="404"} 1"#))
        }
    }
}
