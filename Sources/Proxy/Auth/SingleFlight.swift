import NIOConcurrencyHelpers
import NIOCore

/// Runs one piece of work per key at a time: a caller asking for a key whose
/// work is already under way gets the same future instead of starting it
/// again. Used so that a client opening many connections at once with the
/// same Basic credentials costs one bcrypt, not one per connection.
final class SingleFlight<Value: Sendable>: Sendable {
    private let running = NIOLockedValueBox<[SecretDigest: EventLoopFuture<Value>]>([:])

    /// Number of keys with work under way.
    var inFlight: Int { self.running.withLockedValue { $0.count } }

    /// The future of the work for `key`, starting it with `start` if none is
    /// under way; nil if `start` declined (returned nil).
    func run(_ key: SecretDigest, start: () -> EventLoopFuture<Value>?) -> EventLoopFuture<Value>? {
        // `start` runs under the lock so two callers cannot both start; it only
        // submits work (to a thread pool), it does not do it.
        let (future, started) = self.running.withLockedValue { running -> (EventLoopFuture<Value>?, Bool) in
            if let existing = running[key] { return (existing, false) }
            guard let future = start() else { return (nil, false) }
            running[key] = future
            return (future, true)
        }
        if started, let future {
            future.whenComplete { _ in
                _ = self.running.withLockedValue { $0.removeValue(forKey: key) }
            }
        }
        return future
    }
}
