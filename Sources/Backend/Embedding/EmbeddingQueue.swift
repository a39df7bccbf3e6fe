import Foundation

/// The requests waiting for an ``EmbeddingEngine``'s thread.
final class EmbeddingQueue: @unchecked Sendable {
    struct Job {
        let inputs: [[Int32]]
        let continuation: CheckedContinuation<[[Float]], any Error>
        var tokenCount: Int { inputs.reduce(0) { $0 + $1.count } }
    }

    // Guarded by `condition`.
    private var jobs: [Job] = []
    private var stopped = false
    private let condition = NSCondition()

    /// Queues `job`; fails it at once if the engine has stopped.
    func submit(_ job: Job) {
        condition.lock()
        if stopped {
            condition.unlock()
            job.continuation.resume(throwing: SchedulerError(.shuttingDown, "the embedding model has been unloaded"))
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Waits for work and takes the jobs at the front of the queue whose
    /// tokens fit in `maxTokens` together (always at least one); `nil` once
    /// stopped with nothing left.
    func nextBatch(maxTokens: Int) -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !stopped { condition.wait() }
        guard !jobs.isEmpty else { return nil }
        var batch = [jobs.removeFirst()]
        var tokens = batch[0].tokenCount
        while let next = jobs.first, tokens + next.tokenCount <= maxTokens {
            tokens += next.tokenCount
            batch.append(jobs.removeFirst())
        }
        return batch
    }

    /// Lets the thread end once the queue is empty.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
