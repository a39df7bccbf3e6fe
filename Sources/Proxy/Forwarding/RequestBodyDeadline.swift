import NIOCore

/// When a request body that is still arriving has taken too long.
///
/// Besides the longest pause between two reads (the idle timeout), a body
/// must arrive:
/// - whole within ``total`` of its head, and
/// - after ``grace``, at an average of at least ``minRate`` bytes per
///   second counted from the head: by time `t`, at least
///   `minRate × (t − started − grace)` bytes.
///
/// Without these, a client sending one byte just inside every idle timeout
/// holds a connection, and an upstream request, for as long as it likes.
/// The deadline moves forward as bytes arrive, which is what
/// ``ConnectionWatchdog`` expects of a phase's deadline.
struct RequestBodyDeadline {
    var started: NIODeadline
    var total: TimeAmount
    /// Bytes per second; 0 for no minimum.
    var minRate: Int
    var grace: TimeAmount

    init(started: NIODeadline, settings: ForwardingSettings) {
        self.started = started
        self.total = settings.clientBodyTotal
        self.minRate = settings.minBodyRate
        self.grace = settings.bodyRateGrace
    }

    /// The time by which the body must be complete (or more of it arrived),
    /// given the bytes received so far.
    func deadline(bytesReceived: Int) -> NIODeadline {
        let whole = self.started + self.total
        guard self.minRate > 0 else { return whole }
        // The moment `bytesReceived` stops being enough: started + grace + bytes / rate.
        let (scaled, overflow) = Int64(bytesReceived).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return whole }
        let byRate = self.started + self.grace + .nanoseconds(scaled / Int64(self.minRate))
        return min(whole, byRate)
    }
}
