import NIOCore

/// A task executor that runs its jobs on a NIO event loop: the store's
/// conversations with PostgreSQL run on their connection's own event loop,
/// not on Swift Concurrency's cooperative pool.
///
/// Why: the store's time limit (``PostgresUsageStore/statementTimeout``)
/// is meant to catch a server that stopped answering, but a transaction is
/// several round trips, and between two of them the task waits for a
/// thread to continue on. The cooperative pool has as many threads as
/// cores (2 here), and whatever else keeps them busy (CPU-bound work, or
/// the rest of the test suite) was counted against the server: under load
/// a healthy local server "timed out". The event loop only waits on I/O.
/// Nothing run here may block: the operations only await the connection.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
