import Foundation

/// The samples of a Prometheus text exposition, summed per metric name over
/// their labels.
public struct MetricsSnapshot: Sendable {
    private let totals: [String: Double]

    public init(text: String) {
        var totals: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[1]) else { continue }
            let name = parts[0].prefix { $0 != "{" }
            totals[String(name), default: 0] += value
        }
        self.totals = totals
    }

    /// The metric's value (summed over labels), or `nil` if it is absent.
    public subscript(name: String) -> Double? { self.totals[name] }
}
