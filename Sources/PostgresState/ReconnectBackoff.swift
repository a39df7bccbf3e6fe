/// When to try connecting again after failures: the delay doubles from
/// ``initial`` with each failure, up to ``maximum``, and a success resets it.
/// A value: the store asks it before connecting and tells it the outcome.
struct ReconnectBackoff: Sendable, Equatable {
    let initial: Duration
    let maximum: Duration
    private(set) var failures = 0
    private(set) var nextAttempt: ContinuousClock.Instant?

    init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Whether a connection may be tried at `now`.
    func mayTry(at now: ContinuousClock.Instant) -> Bool {
        guard let nextAttempt else { return true }
        return now >= nextAttempt
    }

    /// The delay after `failures` failures in a row.
    var delay: Duration {
        guard self.failures > 0 else { return .zero }
        // 2^(failures-1) × initial, without overflowing for a long outage.
        let doublings = min(self.failures - 1, 30)
        let delay = self.initial * (1 << doublings)
        return min(delay, self.maximum)
    }

    mutating func failed(at now: ContinuousClock.Instant) {
        self.failures += 1
        self.nextAttempt = now + self.delay
    }

    mutating func succeeded() {
        self.failures = 0
        self.nextAttempt = nil
    }
}
