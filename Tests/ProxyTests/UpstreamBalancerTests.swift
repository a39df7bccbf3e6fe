import NIOCore
import Testing
@testable import Proxy

@Suite struct UpstreamBalancerTests {
    private func balancer(_ count: Int) -> UpstreamBalancer {
        UpstreamBalancer(
            upstreams: (0..<count).map { UpstreamAddress(endpoint: HostAndPort(host: "127.0.0.1", port: 1000 + $0)) },
            health: ProxyConfiguration.HealthChecking())
    }

    @Test func picksTheUpstreamWithFewestOutstandingRequests() throws {
        let balancer = self.balancer(3)
        let first = try #require(balancer.pick())
        let second = try #require(balancer.pick())
        let third = try #require(balancer.pick())
        #expect(Set([first, second, third]) == [0, 1, 2])
        balancer.finished(second)
        #expect(balancer.pick() == second)  // the only one with nothing outstanding
    }

    @Test func downUpstreamsAreSkippedUntilProbedBack() throws {
        let balancer = self.balancer(2)
        balancer.markDown(1)
        for _ in 0..<4 { #expect(balancer.pick() == 0) }
        // Failover: the only other upstream is tried even when it is down.
        #expect(balancer.pick(excluding: [0]) == 1)
        balancer.markUp(1)
        #expect(balancer.pick() == 1)
    }

    @Test func probesBackOffAndAreHandedOutOnce() {
        let balancer = self.balancer(1)
        let start = NIODeadline.now()
        balancer.markDown(0, now: start)
        #expect(balancer.upstreamsDueForProbe(now: start).isEmpty)
        #expect(balancer.upstreamsDueForProbe(now: start + .seconds(1)) == [0])
        #expect(balancer.upstreamsDueForProbe(now: start + .seconds(1)).isEmpty)  // already being probed
        balancer.markDown(0, now: start + .seconds(1))  // the probe failed: wait twice as long
        #expect(balancer.upstreamsDueForProbe(now: start + .seconds(2)).isEmpty)
        #expect(balancer.upstreamsDueForProbe(now: start + .seconds(3)) == [0])
    }
}
