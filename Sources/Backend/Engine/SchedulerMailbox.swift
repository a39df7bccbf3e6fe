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
    private let burst: SchedulerConfiguration.BurstGathering
    private let observer: any SchedulerObserver

    /// What the scheduler's thread collects at the top of its loop.
    struct Mail {
        var jobs: [ScheduledJob]
        var cancelled: Set<UInt64>
        var stopping: Bool
    }

    /// - Parameters:
    ///   - capacity: the most jobs admitted and queued together.
    ///   - burst: how long an idle scheduler waits for the rest of a burst
    ///     of requests before it starts on the first.
    init(capacity: Int, burst: SchedulerConfiguration.BurstGathering = .init(), observer: any SchedulerObserver) {
        self.capacity = capacity
        self.burst = burst
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
    ///
    /// When not `busy`, the first job's arrival does not start a step at
    /// once: clients send several requests together (a burst of streams),
    /// and one that arrives a millisecond after the step began waits for
    /// that whole step — a prompt step of the first request alone, before
    /// its own. So the scheduler waits until no job has arrived for
    /// ``SchedulerConfiguration/BurstGathering/quietGap`` (at most
    /// ``SchedulerConfiguration/BurstGathering/longest``, and not once the
    /// free slots are full), and the burst's prompts run in one step.
    /// Eight streams started together on the Q8_0 bench model: the first
    /// prompt ran alone (561 ms under load) and the other seven after it
    /// (2715 ms), so seven of eight first tokens came after both steps.
    func collect(freeSlots: Int, busy: Bool) -> Mail {
        condition.lock()
        defer { condition.unlock() }
        while !busy && !stopping && cancelled.isEmpty && (queue.isEmpty || freeSlots == 0) {
            condition.wait()
        }
        if !busy && !queue.isEmpty {
            gatherBurst(freeSlots: freeSlots)
        }
        let taken = Array(queue.prefix(max(0, freeSlots)))
        queue.removeFirst(taken.count)
        for job in taken { admitted.insert(job.id) }
        let mail = Mail(jobs: taken, cancelled: cancelled, stopping: stopping)
        cancelled = []
        observer.record(.queueDepth(queue.count))
        return mail
    }

    /// Waits, with `condition` locked, while jobs keep arriving (see
    /// ``collect(freeSlots:busy:)``).
    private func gatherBurst(freeSlots: Int) {
        let end = Date(timeIntervalSinceNow: burst.longest.seconds)
        while !stopping && queue.count < freeSlots {
            let arrived = queue.count
            let quietEnd = min(end, Date(timeIntervalSinceNow: burst.quietGap.seconds))
            // Woken by a submission (or spuriously) before the gap ended: wait a new gap.
            while queue.count == arrived && !stopping && condition.wait(until: quietEnd) {}
            if queue.count == arrived || Date() >= end { return }
        }
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
