import NIOConcurrencyHelpers

/// Remembers user name and password pairs that verified, so a client
/// sending the same Basic credentials on every request pays for the slow
/// hash (bcrypt: tens of milliseconds) once, not every time.
///
/// Entries are keyed by an HMAC of the pair under a per-process key
/// (``ProcessKeyedHMAC``), never by the password. Only successes are kept:
/// a wrong password is hashed every time, and the failure lockout limits how
/// often that can be tried. Bounded: past ``capacity`` the oldest entry goes.
/// One cache belongs to one loaded htpasswd file; a reload makes a new one,
/// so a changed or removed password stops working at once.
final class VerifiedCredentialCache: Sendable {
    let capacity: Int
    private let state: NIOLockedValueBox<State>

    private struct State {
        var users: [SecretDigest: String] = [:]
        /// Insertion order, for eviction.
        var order: [SecretDigest] = []
        var orderStart = 0
    }

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        self.state = NIOLockedValueBox(State())
    }

    /// The user a verified pair belongs to, if it was verified before.
    func user(for digest: SecretDigest) -> String? {
        self.state.withLockedValue { $0.users[digest] }
    }

    var count: Int { self.state.withLockedValue { $0.users.count } }

    /// Records a verified pair.
    func insert(_ digest: SecretDigest, user: String) {
        let capacity = self.capacity
        self.state.withLockedValue { state in
            guard state.users.updateValue(user, forKey: digest) == nil else { return }
            state.order.append(digest)
            while state.users.count > capacity, state.orderStart < state.order.count {
                state.users[state.order[state.orderStart]] = nil
                state.orderStart += 1
            }
            // Compact the eviction queue now and then so it does not grow without bound.
            if state.orderStart > capacity {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }
}
