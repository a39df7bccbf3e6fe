import Foundation
import Testing

@testable import Backend

/// ``SchedulerMailbox``: an idle scheduler gathers a burst of requests
/// before its first step, a busy one never waits.
@Suite("Scheduler mailbox")
struct SchedulerMailboxTests {
    struct NoObserver: SchedulerObserver {
        func record(_ event: SchedulerEvent) {}
    }

    static func mailbox(quietGap: Duration, longest: Duration) -> SchedulerMailbox {
        var burst = SchedulerConfiguration.BurstGathering()
        burst.quietGap = quietGap
        burst.longest = longest
        return SchedulerMailbox(capacity: 64, burst: burst, observer: NoObserver())
    }

    /// Submits `count` jobs from another thread, `spacing` apart.
    static func submit(_ count: Int, to mailbox: SchedulerMailbox, spacing: Duration) {
        Thread.detachNewThread {
            for index in 0..<count {
                if index > 0 { Thread.sleep(forTimeInterval: spacing.seconds) }
                _ = try? mailbox.submit(promptTokens: [1, 2, 3], options: GenerationOptions(maxTokens: 1)) { _ in }
            }
        }
    }

    @Test("an idle scheduler takes requests that arrive one after another in one collection")
    func idleGathersABurst() {
        // A gap far beyond the spacing, so a loaded machine does not end the burst early.
        let mailbox = Self.mailbox(quietGap: .milliseconds(500), longest: .seconds(30))
        Self.submit(5, to: mailbox, spacing: .milliseconds(5))
        let mail = mailbox.collect(freeSlots: 8, busy: false)
        #expect(mail.jobs.count == 5)
    }

    @Test("the wait ends once the free slots are full, and a busy scheduler does not wait")
    func fullSlotsAndBusyDoNotWait() {
        let clock = ContinuousClock()
        let full = Self.mailbox(quietGap: .seconds(30), longest: .seconds(30))
        Self.submit(3, to: full, spacing: .milliseconds(1))
        let start = clock.now
        #expect(full.collect(freeSlots: 3, busy: false).jobs.count == 3)
        #expect(clock.now - start < .seconds(15))

        let busy = Self.mailbox(quietGap: .seconds(30), longest: .seconds(30))
        Self.submit(1, to: busy, spacing: .zero)
        // Busy: returns at once, whether or not the job has arrived yet.
        var taken = 0
        let busyStart = clock.now
        while taken == 0 && clock.now - busyStart < .seconds(10) {
            taken += busy.collect(freeSlots: 8, busy: true).jobs.count
        }
        #expect(taken == 1)
        #expect(clock.now - busyStart < .seconds(15))
    }

    @Test("requests that never stop arriving are gathered for the longest wait only")
    func longestWaitBoundsTheBurst() {
        let mailbox = Self.mailbox(quietGap: .seconds(30), longest: .milliseconds(100))
        Self.submit(40, to: mailbox, spacing: .milliseconds(100))
        let mail = mailbox.collect(freeSlots: 64, busy: false)
        #expect(mail.jobs.count >= 1 && mail.jobs.count < 40)
    }
}
