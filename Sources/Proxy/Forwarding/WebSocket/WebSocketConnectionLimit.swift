import NIOConcurrencyHelpers

/// Counts the WebSocket connections of one listener against its maximum.
///
/// A permit is taken once a handshake is admitted (so requests that are
/// refused never hold one) and given back when the exchange ends without a
/// switch, or when the switched connection closes. Shared by the
/// connections of a listener across event loops, hence the lock.
final class WebSocketConnectionLimit: Sendable {
    let maximum: Int
    private let open = NIOLockedValueBox(0)

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// WebSocket connections holding a permit now.
    var count: Int { self.open.withLockedValue { $0 } }

    /// A permit, or `nil` if the listener holds its most WebSocket connections.
    func take() -> Permit? {
        let taken = self.open.withLockedValue { open -> Bool in
            guard open < self.maximum else { return false }
            open += 1
            return true
        }
        return taken ? Permit(limit: self) : nil
    }

    fileprivate func giveBack() {
        self.open.withLockedValue { $0 -= 1 }
    }

    /// One connection's place under the limit. ``release()`` gives it back
    /// once; later calls do nothing.
    final class Permit {
        private var limit: WebSocketConnectionLimit?

        fileprivate init(limit: WebSocketConnectionLimit) {
            self.limit = limit
        }

        func release() {
            self.limit?.giveBack()
            self.limit = nil
        }
    }
}
