import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Limits how many requests each identity (API key name or user) makes: a
/// token bucket per identity holding up to ``burst`` requests, refilled at
/// ``perSecond``.
///
/// With ``shared`` (several replicas sharing PostgreSQL), every request
/// admitted here is also counted there, and ``charge(_:now:)`` takes the
/// requests the other replicas admitted out of the same buckets.
final class RequestRateLimiter: Sendable {
    let perSecond: Double
    let burst: Double
    /// Where admitted requests go to reach the other replicas; `nil` when alone.
    let shared: SharedAccessCounts?
    private let buckets = NIOLockedValueBox([String: Bucket]())

    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline

        /// Refills the tokens for the time since ``updated``, up to `burst`.
        mutating func refill(at now: NIODeadline, rate: Double, burst: Double) {
            let elapsed = Double((now - self.updated).nanoseconds) / 1e9
            self.tokens = min(burst, self.tokens + elapsed * rate)
            self.updated = now
        }
    }

    init(perSecond: Double, burst: Double, shared: SharedAccessCounts? = nil) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
        self.shared = shared
    }

    /// The rate's period in whole seconds (``burst`` requests per period):
    /// the window the replicas count requests in.
    var period: Int64 { max(1, Int64((self.burst / self.perSecond).rounded())) }

    /// Takes one request from `identity`'s bucket; nil when allowed, else how long until one is.
    func take(_ identity: String, now: NIODeadline = .now()) -> TimeAmount? {
        let (rate, burst) = (self.perSecond, self.burst)
        return self.buckets.withLockedValue { buckets in
            var bucket = buckets[identity] ?? Bucket(tokens: burst, updated: now)
            bucket.refill(at: now, rate: rate, burst: burst)
            defer { buckets[identity] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                self.shared?.recordRequest(of: identity, period: self.period)
                return nil
            }
            return .nanoseconds(Int64((1 - bucket.tokens) / rate * 1e9))
        }
    }
}

extension RequestRateLimiter {
    /// Takes the requests the other replicas admitted (per identity, since
    /// the last charge) out of this replica's buckets. A bucket may go below
    /// zero, down to minus ``burst``, so that requests admitted elsewhere
    /// are paid for here too, but no identity waits longer than one period
    /// and one request's interval (`(1 + burst) / perSecond`).
    func charge(_ requests: [String: Int64], now: NIODeadline = .now()) {
        guard !requests.isEmpty else { return }
        let (rate, burst) = (self.perSecond, self.burst)
        self.buckets.withLockedValue { buckets in
            for (identity, count) in requests where count > 0 {
                var bucket = buckets[identity] ?? Bucket(tokens: burst, updated: now)
                bucket.refill(at: now, rate: rate, burst: burst)
                bucket.tokens = max(-burst, bucket.tokens - Double(count))
                buckets[identity] = bucket
            }
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
