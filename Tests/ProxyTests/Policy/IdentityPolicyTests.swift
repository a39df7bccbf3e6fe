import Testing
@testable import Proxy

/// ``IdentityPolicy``'s decisions without a channel.
@Suite struct IdentityPolicyTests {
    func policy(_ limits: IdentityLimits) -> IdentityPolicy {
        IdentityPolicy(identity: "key:ci", limits: limits, concurrency: ConcurrentRequestLimit())
    }

    @Test func aWebSocketHandshakeIsRefusedWhenModelsOrTokensCannotBeChecked() {
        for limits in [IdentityLimits(models: [ModelPattern("a")!]), IdentityLimits(tokenQuotas: [.day: 10])] {
            guard case .answer(let response, _) = policy(limits).admitHead(hasBody: false, path: "/v1/realtime", webSocket: true)
            else {
                Issue.record("a tunnel was allowed past \(limits.fields)")
                continue
            }
            #expect(response.status == .forbidden && response.code == "websocket_not_allowed_with_limits")
        }
        guard case .proceed = policy(IdentityLimits(maxConcurrent: 2)).admitHead(hasBody: false, path: "/ws", webSocket: true)
        else {
            Issue.record("a concurrency limit alone refused a WebSocket")
            return
        }
    }

    @Test func onlyUsageReportingPathsAreHeldForAQuotaAlone() {
        let quota = policy(IdentityLimits(tokenQuotas: [.minute: 100]))
        guard case .inspectBody = quota.admitHead(hasBody: true, path: "/v1/chat/completions") else {
            Issue.record("a chat completion of a quota key was not held")
            return
        }
        guard case .proceed = quota.admitHead(hasBody: true, path: "/v1/embeddings") else {
            Issue.record("an embeddings body was held for a quota alone")
            return
        }
        guard case .inspectBody = policy(IdentityLimits(models: [ModelPattern("a")!])).admitHead(hasBody: true, path: "/anything")
        else {
            Issue.record("a body to another path escaped the models limit")
            return
        }
    }

    @Test func aPermitIsGivenBackOnce() {
        let limit = ConcurrentRequestLimit()
        let first = limit.take("key:ci", maximum: 2)
        let second = limit.take("key:ci", maximum: 2)
        #expect(first != nil && second != nil && limit.take("key:ci", maximum: 2) == nil)
        first?.release()
        first?.release()
        #expect(limit.count("key:ci") == 1)
        second?.release()
        #expect(limit.count("key:ci") == 0)
    }
}
