import Foundation

/// The tokens each identity used in its current minute, day and month, and
/// whether it may start another request: the quota decisions, as a value.
///
/// Windows are fixed and aligned to UTC (a minute from :00, a day from
/// midnight, a calendar month), as a user reads "200 tokens per minute";
/// `Retry-After` is the time until the full window ends. A request is
/// admitted while the identity is under every quota and counted when its
/// response ends (the upstream's `usage`), so one request may overshoot a
/// quota by what it used: the tokens are unknown until then.
///
/// The ledger itself is in memory; ``UsageAccounting`` persists what it
/// records and fills it back at start (``restore(_:for:in:windowStart:)``),
/// so a restart does not reset a quota.
public struct TokenQuotaLedger: Sendable {
    /// A quota's window.
    public enum Window: String, Sendable, CaseIterable, Hashable {
        case minute, day, month

        /// The limit field's name: `tokens_per_minute`, ….
        public var fieldName: String { "tokens_per_\(self.rawValue)" }

        init?(fieldName: String) {
            guard let window = Self.allCases.first(where: { $0.fieldName == fieldName }) else { return nil }
            self = window
        }

        /// The start and end of the window holding `date`.
        public func bounds(of date: Date) -> (start: Date, end: Date) {
            let seconds = date.timeIntervalSince1970
            switch self {
            case .minute:
                let start = (seconds / 60).rounded(.down) * 60
                return (Date(timeIntervalSince1970: start), Date(timeIntervalSince1970: start + 60))
            case .day:
                let start = (seconds / 86_400).rounded(.down) * 86_400
                return (Date(timeIntervalSince1970: start), Date(timeIntervalSince1970: start + 86_400))
            case .month:
                // Day arithmetic, not `Calendar`: a Gregorian calendar and a
                // UTC time zone made on every request cost more than the rest
                // of counting it.
                let day = Int((seconds / 86_400).rounded(.down))
                let (first, next) = Self.monthDays(holding: day)
                return (Date(timeIntervalSince1970: Double(first) * 86_400), Date(timeIntervalSince1970: Double(next) * 86_400))
            }
        }

        /// The first day of the UTC calendar month holding `day`, and of the
        /// month after it, all in days since 1970-01-01 (proleptic Gregorian;
        /// Howard Hinnant's `civil_from_days`).
        static func monthDays(holding day: Int) -> (first: Int, next: Int) {
            let shifted = day + 719_468  // days since 0000-03-01
            let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
            let dayOfEra = shifted - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // from March 1
            let monthFromMarch = (5 * dayOfYear + 2) / 153
            let dayOfMonth = dayOfYear - (153 * monthFromMarch + 2) / 5  // 0-based
            let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
            let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let length = month == 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].contains(month) ? 30 : 31
            let first = day - dayOfMonth
            return (first, first + length)
        }
    }

    /// Tokens used in one window.
    struct Count {
        var windowStart: Date
        var tokens: Int
    }

    private var counts: [String: [Window: Count]] = [:]

    public init() {}

    /// Tokens `identity` used in the window holding `now`.
    public func used(_ identity: String, in window: Window, now: Date) -> Int {
        guard let count = self.counts[identity]?[window], count.windowStart == window.bounds(of: now).start else { return 0 }
        return count.tokens
    }

    /// A quota used up: which, how many tokens were used in its window, and
    /// how long until the window ends.
    public struct Exhausted: Sendable, Equatable {
        public var window: Window
        public var quota: Int
        public var used: Int
        public var wait: TimeInterval
    }

    /// Whether `identity` may start a request at `now` under `quotas`: `nil`
    /// if so, else the used-up quota whose window ends last.
    public func exhausted(_ identity: String, quotas: [Window: Int], now: Date) -> Exhausted? {
        var longest: Exhausted?
        for window in Window.allCases {
            guard let quota = quotas[window] else { continue }
            let used = self.used(identity, in: window, now: now)
            guard used >= quota else { continue }
            let wait = window.bounds(of: now).end.timeIntervalSince(now)
            if wait > (longest?.wait ?? -1) { longest = Exhausted(window: window, quota: quota, used: used, wait: wait) }
        }
        return longest
    }

    /// Counts `tokens` used by `identity` at `now`, in each window it has a quota for.
    public mutating func record(_ tokens: Int, for identity: String, quotas: [Window: Int], now: Date) {
        guard tokens > 0, !quotas.isEmpty else { return }
        // Mutated in place: a copy of the identity's windows, written back,
        // copied the dictionary on every request.
        Self.add(tokens, to: &self.counts[identity, default: [:]], quotas: quotas, now: now)
    }

    private static func add(_ tokens: Int, to windows: inout [Window: Count], quotas: [Window: Int], now: Date) {
        for window in quotas.keys {
            let start = window.bounds(of: now).start
            var count = windows[window].flatMap { $0.windowStart == start ? $0 : nil } ?? Count(windowStart: start, tokens: 0)
            count.tokens = count.tokens.addingReportingOverflow(tokens).overflow ? Int.max : count.tokens + tokens
            windows[window] = count
        }
    }

    /// Sets the tokens `identity` used in `window` starting at `windowStart`
    /// (read back from a ``UsageStore``); a later window already counted is kept.
    public mutating func restore(_ tokens: Int, for identity: String, in window: Window, windowStart: Date) {
        if let count = self.counts[identity]?[window], count.windowStart > windowStart { return }
        self.counts[identity, default: [:]][window] = Count(windowStart: windowStart, tokens: max(0, tokens))
    }
}
