import NIOCore
import Testing
@testable import Proxy

/// ``RequestBodyDeadline`` on explicit times (a fake clock): the whole body
/// has a deadline, and after the grace period a minimum average rate.
@Suite struct RequestBodyDeadlineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func deadline(total: TimeAmount = .seconds(300), rate: Int = 1024, grace: TimeAmount = .seconds(10))
        -> RequestBodyDeadline
    {
        var configuration = ProxyConfiguration()
        configuration.timeouts.clientBodyTotal = .nanoseconds(total.nanoseconds)
        configuration.timeouts.bodyRateGrace = .nanoseconds(grace.nanoseconds)
        configuration.limits.minBodyRate = rate
        return RequestBodyDeadline(started: self.start, settings: ForwardingSettings(configuration: configuration, usesTLS: false))
    }

    @Test func nothingReceivedMustStartWithinTheGracePeriod() {
        #expect(self.deadline().deadline(bytesReceived: 0) == self.start + .seconds(10))
    }

    @Test func eachSecondOfRateBuysASecond() {
        // 10 KiB at 1 KiB/s cover 10 s beyond the grace period.
        #expect(self.deadline().deadline(bytesReceived: 10 * 1024) == self.start + .seconds(20))
    }

    @Test func theWholeBodyDeadlineCapsAFastBody() {
        let fast = self.deadline(total: .seconds(60))
        #expect(fast.deadline(bytesReceived: 1 << 30) == self.start + .seconds(60))
    }

    @Test func zeroRateLeavesOnlyTheTotal() {
        #expect(self.deadline(rate: 0).deadline(bytesReceived: 0) == self.start + .seconds(300))
    }

    /// The defaults take a 16 MiB body on a slow LAN (2 Mbit/s, 67 s).
    @Test func defaultsLetA16MiBBodyArriveOnASlowLink() {
        let defaults = RequestBodyDeadline(
            started: self.start, settings: ForwardingSettings(configuration: ProxyConfiguration(), usesTLS: false))
        let bytesPerSecond = 2_000_000 / 8
        for second in stride(from: 1, through: (16 << 20) / bytesPerSecond + 1, by: 1) {
            let now = self.start + .seconds(Int64(second))
            #expect(defaults.deadline(bytesReceived: min(16 << 20, second * bytesPerSecond)) > now)
        }
    }
}
