/// A bar chart of one identity's tokens per hour over the last 24 hours, as
/// the numbers an inline SVG needs (the usage page draws it server-side).
struct ConsoleUsageChart: Equatable, Sendable {
    struct Bar: Equatable, Sendable {
        /// The hour's start, seconds since 1970.
        var hour: Int64
        var tokens: Int64
        var requests: Int64
        var x: Int
        var y: Int
        var height: Int
    }

    static let hours = 24
    static let width = 24 * 28 + 8
    static let height = 180
    /// The plot's height; the rest holds the labels.
    static let plotHeight = 140
    static let barWidth = 24

    let bars: [Bar]
    let maximum: Int64

    /// The chart of `rows` (any identities' rows are summed per hour) for the 24 hours ending with the one holding `now`.
    init(rows: [UsageRow], now: Int64) {
        let last = now - now % 3600
        let first = last - Int64(Self.hours - 1) * 3600
        var tokens = [Int64](repeating: 0, count: Self.hours)
        var requests = [Int64](repeating: 0, count: Self.hours)
        for row in rows where row.hour >= first && row.hour <= last {
            let index = Int((row.hour - first) / 3600)
            tokens[index] &+= row.tokens
            requests[index] += row.requests
        }
        let maximum = max(tokens.max() ?? 0, 1)
        self.maximum = tokens.max() ?? 0
        self.bars = (0..<Self.hours).map { index in
            let height = Int((Double(tokens[index]) / Double(maximum) * Double(Self.plotHeight - 20)).rounded(.up))
            return Bar(
                hour: first + Int64(index) * 3600, tokens: tokens[index], requests: requests[index],
                x: 4 + index * (Self.barWidth + 4), y: Self.plotHeight - height, height: height)
        }
    }
}
