import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Limits how many requests each identity (API key name or user) makes: a
/// token bucket per identity holding up to ``burst`` requests, refilled at
/// ``perSecond``.
final class RequestRateLimiter: Sendable {
    let perSecond: Double
    let burst: Double
    private let buckets = NIOLockedValueBox([String: Bucket]())

    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
    }

    /// Takes one request from `identity`'s bucket; nil when allowed, else how long until one is.
    func take(_ identity: String, now: NIODeadline = .now()) -> TimeAmount? {
        let (rate, burst) = (self.perSecond, self.burst)
        return self.buckets.withLockedValue { buckets in
            var bucket = buckets[identity] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double((now - bucket.updated).nanoseconds) / 1e9
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = now
            defer { buckets[identity] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .nanoseconds(Int64((1 - bucket.tokens) / rate * 1e9))
        }
    }
}

/// A request rate written as `N/s`, `N/m` or `N/h`.
public struct RequestRate: Sendable, Equatable, CustomStringConvertible {
    public var requests: Int
    public var per: Duration

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let count = Int(parts[0].trimmingCharacters(in: .whitespaces)), count > 0 else { return nil }
        switch parts[1].trimmingCharacters(in: .whitespaces).lowercased() {
        case "s", "sec", "second": self.per = .seconds(1)
        case "m", "min", "minute": self.per = .seconds(60)
        case "h", "hour": self.per = .seconds(3600)
        default: return nil
        }
        self.requests = count
    }

    public var description: String {
        "\(self.requests)/\(self.per == .seconds(1) ? "s" : self.per == .seconds(60) ? "m" : "h")"
    }

    var perSecond: Double { Double(self.requests) / Double(self.per.components.seconds) }
}
