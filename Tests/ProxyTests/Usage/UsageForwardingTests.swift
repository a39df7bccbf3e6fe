import Foundation
import NIOCore
import Testing
@testable import Proxy

/// An admission that admits every request as `key:ci`, with `limits`, and
/// counts usage in `usageAccounting`.
struct AccountedAdmission: RequestAdmission {
    let identity = "key:ci"
    let limits: IdentityLimits
    let usageAccounting: UsageAccounting?
    let concurrency = ConcurrentRequestLimit()

    func admit(_ request: AdmissionRequest) -> AdmissionResult {
        .decided(.admit(request.head, identity: self.identity))
    }

    func identityPolicy(for identity: String) -> IdentityPolicy? {
        guard !self.limits.isEmpty, let usageAccounting else { return nil }
        return IdentityPolicy(identity: identity, limits: self.limits, concurrency: self.concurrency, tokens: usageAccounting.quotas)
    }
}

/// What the ``ForwardingHandler`` reports to usage accounting and the
/// per-identity metrics: the upstream's model and tokens, the status
/// class, and refusals by limit.
@Suite struct UsageForwardingTests {
    /// Accounting whose store is a temporary SQLite file.
    func accounting(_ directory: TemporaryDirectory) async throws -> UsageAccounting {
        try await UsageAccounting.open(
            store: try await SQLiteUsageStore.open(path: directory.file("usage.sqlite"), logger: quietLogger), logger: quietLogger)
    }

    @Test func aJSONResponseIsCountedWithItsModelAndTokens() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        let proxy = try EmbeddedForwarding(admission: AccountedAdmission(limits: IdentityLimits(), usageAccounting: accounting))
        let body = #"{"model":"asked","messages":[]}"#
        try proxy.clientSends("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        _ = try proxy.upstreamReceived()
        let answer = #"{"model":"qwen3-8b","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}"#
        try proxy.upstreamResponds(headers: [("content-type", "application/json"), ("content-length", "\(answer.utf8.count)")], body: answer)
        #expect(try proxy.clientReceived().hasSuffix(answer), "the response changed")

        let rows = Array(accounting.unwritten.rows.values)
        #expect(rows.count == 1)
        #expect(rows.first?.identity == "key:ci")
        #expect(rows.first?.model == "qwen3-8b")
        #expect(rows.first?.requests == 1)
        #expect(rows.first?.promptTokens == 5)
        #expect(rows.first?.completionTokens == 6)
        #expect(rows.first?.clientErrors == 0)
        let metrics = proxy.metrics.render()
        #expect(metrics.contains(#"lmgate_proxy_identity_requests_total{identity="key:ci"} 1"#))
        #expect(metrics.contains(#"lmgate_proxy_identity_tokens_total{identity="key:ci"} 11"#))
        #expect(await accounting.close().isEmpty)
    }

    @Test func aQuotaStreamIsCountedAndTheRefusalAfterItToo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let accounting = try await self.accounting(directory)
        let admission = AccountedAdmission(limits: IdentityLimits(tokenQuotas: [.minute: 10]), usageAccounting: accounting)
        let proxy = try EmbeddedForwarding(admission: admission)
        let body = #"{"model":"m","stream":true}"#
        try proxy.clientSends("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        _ = try proxy.upstreamReceived()
        let events =
            #"data: {"model":"m1","choices":[{"delta":{"content":"Hi"}}],"usage":null}"# + "\n\n"
            + #"data: {"model":"m1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":8}}"# + "\n\n" + "data: [DONE]\n\n"
        try proxy.upstreamResponds(headers: [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")], body: events)
        #expect(!(try proxy.clientReceived()).contains("usage"))
        #expect(accounting.quotas.used("key:ci", in: .minute) == 15)

        let second = try EmbeddedForwarding(admission: admission)
        try second.clientSends("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        #expect(try second.clientReceived().hasPrefix("HTTP/1.1 429"))
        #expect(second.metrics.render().contains(#"lmgate_proxy_identity_denied_total{identity="key:ci",limit="tokens"} 1"#))

        let rows = accounting.unwritten.rows.values.sorted { $0.model < $1.model }
        #expect(rows.map(\.model) == ["-", "m1"])
        #expect(rows.map(\.clientErrors) == [1, 0])
        #expect(rows.map(\.tokens) == [0, 15])
        #expect(accounting.unwritten.quotaCounts.values.first { $0.window == .minute }?.tokens == 15)
        #expect(await accounting.close().isEmpty)
    }
}
