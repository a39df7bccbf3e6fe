import NIOConcurrencyHelpers

/// Counts each identity's requests in flight against its
/// ``IdentityLimits/maxConcurrent``.
///
/// One per proxy, shared by every event loop (hence the lock) and kept
/// across reloads, so requests already in flight still count when a key's
/// limit changes. A permit is taken once a request is admitted and given
/// back when its exchange ends, however it ends. Only identities with
/// requests in flight take room: the table is bounded by the requests the
/// proxy holds, never by what clients send.
public final class ConcurrentRequestLimit: Sendable {
    private let inFlight = NIOLockedValueBox<[String: Int]>([:])

    public init() {}

    /// The requests of `identity` in flight now.
    public func count(_ identity: String) -> Int {
        self.inFlight.withLockedValue { $0[identity] ?? 0 }
    }

    /// A permit for one more request of `identity`, or `nil` if it has
    /// `maximum` in flight already.
    public func take(_ identity: String, maximum: Int) -> Permit? {
        let taken = self.inFlight.withLockedValue { counts -> Bool in
            let current = counts[identity] ?? 0
            guard current < maximum else { return false }
            counts[identity] = current + 1
            return true
        }
        return taken ? Permit(limit: self, identity: identity) : nil
    }

    fileprivate func giveBack(_ identity: String) {
        self.inFlight.withLockedValue { counts in
            let remaining = (counts[identity] ?? 1) - 1
            counts[identity] = remaining > 0 ? remaining : nil
        }
    }

    /// One request's place under its identity's limit. ``release()`` gives
    /// it back once; later calls do nothing.
    public final class Permit {
        private var limit: ConcurrentRequestLimit?
        private let identity: String

        fileprivate init(limit: ConcurrentRequestLimit, identity: String) {
            self.limit = limit
            self.identity = identity
        }

        public func release() {
            self.limit?.giveBack(self.identity)
            self.limit = nil
        }
    }
}
