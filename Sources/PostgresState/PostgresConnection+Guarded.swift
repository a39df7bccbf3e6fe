import NIOCore
import PostgresNIO
import Synchronization

/// The connection closed while an operation ran on it: closed after
/// ``PostgresConnection/guarded(timeout:_:)``'s time limit, or by the server
/// (or the network) going away.
struct PostgresConnectionLost: Error, CustomStringConvertible {
    let timeout: TimeAmount

    var description: String {
        "the connection closed before the statements finished (no answer within \(self.timeout.nanoseconds / 1_000_000) ms, "
            + "or the server closed it)"
    }
}

extension PostgresConnection {
    /// Runs `operation` on this connection and returns its outcome, unless
    /// the connection closes first: then it throws ``PostgresConnectionLost``
    /// at once. The connection is closed if `operation` takes longer than
    /// `timeout` (a server that stopped answering). `operation` runs on the
    /// connection's event loop (``EventLoopTaskExecutor`` says why).
    ///
    /// Why not just await `operation`: postgres-nio 1.x hands a query to its
    /// channel without a promise (`channel.write(…, promise: nil)`), so a
    /// query issued once the channel is closed is never answered, and its
    /// `await` never returns (postgres-nio PR #487, reverted in #501). That
    /// is exactly what `withTransaction` does when a statement fails because
    /// the connection closed: it sends `ROLLBACK` on the closed connection.
    /// With the time limit closing a slow transaction, that hung every later
    /// write (and the whole test suite on a loaded machine). The operation
    /// therefore runs in a task of its own that is left behind if the
    /// connection closes; such a task stays suspended for good (postgres-nio
    /// keeps no reference to the query it dropped), which costs its few
    /// objects once per lost connection, not a thread.
    func guarded<Value: Sendable>(
        timeout: TimeAmount, _ operation: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let outcome = OneOutcome<Value>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.waiting(continuation)
            let timer = self.eventLoop.scheduleTask(in: timeout) {
                // Closing the channel fails the statement under way (and this wait, through closeFuture).
                self.closeInBackground()
            }
            self.closeFuture.whenComplete { _ in
                timer.cancel()
                outcome.resume(with: .failure(PostgresConnectionLost(timeout: timeout)))
            }
            Task(executorPreference: EventLoopTaskExecutor(self.eventLoop)) {
                let result: Result<Value, any Error>
                do {
                    result = .success(try await operation(self))
                } catch {
                    result = .failure(error)
                }
                timer.cancel()
                outcome.resume(with: result)
            }
        }
    }

    /// Closes the connection without waiting, keeping it alive until it is
    /// closed: postgres-nio asserts that a connection is closed before it is freed.
    func closeInBackground() {
        let closed: EventLoopFuture<Void> = self.close()
        closed.whenComplete { _ in withExtendedLifetime(self) {} }
    }
}

/// A continuation resumed once, by whichever of several outcomes comes first.
private final class OneOutcome<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func waiting(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<Value, any Error>) {
        let continuation = self.continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        continuation?.resume(with: result)
    }
}
