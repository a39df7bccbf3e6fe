import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs password hashes on a thread pool in the order a ``FairQueue`` of
/// client addresses decides, at most ``FairQueue/concurrency`` at once (the pool itself
/// would run them first come, first served, which is what lets one address
/// delay everyone).
final class PasswordHashScheduler: Sendable {
    /// A hash to run; `cancelled` when the pool has shut down.
    typealias Job = @Sendable (_ cancelled: Bool) -> Void

    private let queue: NIOLockedValueBox<FairQueue<FailureCountingKey, Job>>
    private let threadPool: NIOThreadPool

    init(threadPool: NIOThreadPool, concurrency: Int, totalCapacity: Int, perClientCapacity: Int) {
        self.threadPool = threadPool
        self.queue = NIOLockedValueBox(
            FairQueue(concurrency: concurrency, totalCapacity: totalCapacity, perClientCapacity: perClientCapacity))
    }

    /// Queues `job` for `client`; false (and `job` is never run) when the
    /// queue or the client's share of it is full.
    func submit(for client: FailureCountingKey, _ job: @escaping Job) -> Bool {
        switch self.queue.withLockedValue({ $0.enqueue(job, for: client) }) {
        case .start(let job, let ticket):
            self.run(job, ticket: ticket)
            return true
        case .queued:
            return true
        case .clientShareFull, .queueFull:
            return false
        }
    }

    /// Hashes queued or running.
    var pendingCount: Int { self.queue.withLockedValue { $0.total } }

    private func run(_ job: @escaping Job, ticket: FairQueue<FailureCountingKey, Job>.Ticket) {
        self.threadPool.submit { state in
            job(state == .cancelled)
            if case .finished(let next?) = self.queue.withLockedValue({ $0.end(ticket) }) {
                self.run(next.job, ticket: next.ticket)
            }
        }
    }
}
