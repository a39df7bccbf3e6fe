import Foundation

/// What request threads and the scheduler's thread exchange: the queue of
/// submitted jobs, the cancellations, the stop flag. The scheduler's thread
/// sleeps here while it has nothing to do.
final class SchedulerMailbox: @unchecked Sendable {
    // @unchecked Sendable: every stored property below is read and written
    // only while `condition` is locked.
    private let condition = NSCondition()
    private var queue: [ScheduledJob] = []
    /// Jobs the scheduler has taken and not yet retired.
    private var admitted: Set<UInt64> = []
    private var cancelled: Set<UInt64> = []
    private var stopping = false
    private var nextID: UInt64 = 1

    private let capacity: Int
    private let observer: any SchedulerObserver

    /// What the scheduler's thread collects at the top of its loop.
    struct Mail {
        var jobs: [ScheduledJob]
        var cancelled: Set<UInt64>
        var stopping: Bool
    }

    /// - Parameter capacity: the most jobs admitted and queued together.
    init(capacity: Int, observer: any SchedulerObserver) {
        self.capacity = capacity
        self.observer = observer
    }

    func submit(
        promptTokens: [Int], options: GenerationOptions, sink: @escaping @Sendable (GenerationEvent) -> Void
    ) throws(SchedulerError) -> GenerationTicket {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw SchedulerError(.shuttingDown, "the server is shutting down") }
        guard queue.count + admitted.count < capacity else {
            throw SchedulerError(.queueFull, "the server is busy: \(admitted.count) sequences are generating and \(queue.count) requests are waiting; try again later")
        }
        let id = nextID
        nextID += 1
        queue.append(ScheduledJob(id: id, promptTokens: promptTokens, options: options, sink: sink, submitted: .now))
        observer.record(.queueDepth(queue.count))
        condition.signal()
        return GenerationTicket(id: id)
    }

    /// Withdraws a queued job at once, or asks the scheduler to drop an admitted one.
    func cancel(_ ticket: GenerationTicket) {
        condition.lock()
        defer { condition.unlock() }
        if let index = queue.firstIndex(where: { $0.id == ticket.id }) {
            queue.remove(at: index)
            observer.record(.queueDepth(queue.count))
            observer.record(.sequenceCancelled)
        } else if admitted.contains(ticket.id) {
            cancelled.insert(ticket.id)
            condition.signal()
        }
    }

    /// Called by the scheduler's thread: waits until there is something to
    /// do unless `busy`, then takes up to `freeSlots` queued jobs and the
    /// pending cancellations.
    func collect(freeSlots: Int, busy: Bool) -> Mail {
        condition.lock()
        defer { condition.unlock() }
        while !busy && !stopping && cancelled.isEmpty && (queue.isEmpty || freeSlots == 0) {
            condition.wait()
        }
        let taken = Array(queue.prefix(max(0, freeSlots)))
        queue.removeFirst(taken.count)
        for job in taken { admitted.insert(job.id) }
        let mail = Mail(jobs: taken, cancelled: cancelled, stopping: stopping)
        cancelled = []
        observer.record(.queueDepth(queue.count))
        return mail
    }

    /// Called by the scheduler's thread when an admitted job ends.
    func retire(_ id: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        admitted.remove(id)
        cancelled.remove(id)
    }

    /// Refuses new jobs, fails the queued ones, and wakes the scheduler to stop.
    func stop() {
        condition.lock()
        stopping = true
        let dropped = queue
        queue = []
        condition.signal()
        condition.unlock()
        for job in dropped { job.sink(.failed("the server is shutting down")) }
    }
}
