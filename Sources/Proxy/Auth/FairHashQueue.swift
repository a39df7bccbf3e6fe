import NIOCore

/// Decides which password hash runs next, so that an address flooding
/// guesses delays only itself.
///
/// Each client (a ``FailureCountingKey``) has its own first-in first-out
/// queue; when a hash finishes, the next one comes from the client served
/// least recently (one never served goes first), so a second client's check
/// runs after at most one more of a flooder's, however many the flooder has
/// queued. Bounded twice: ``totalCapacity`` hashes queued or running in all,
/// and ``perClientCapacity`` for one client, so no client can take the
/// whole queue either.
///
/// A value type that only decides; ``PasswordHashScheduler`` runs the jobs.
struct FairHashQueue<Job> {
    /// Most hashes running at once.
    let concurrency: Int
    /// Most hashes queued or running, all clients together.
    let totalCapacity: Int
    /// Most hashes queued or running for one client.
    let perClientCapacity: Int

    private var queues: [FailureCountingKey: CircularBuffer<Job>] = [:]
    /// Clients with queued jobs, in the order they started waiting.
    private var waiting: [FailureCountingKey] = []
    /// Jobs queued or running, per client with any.
    private var held: [FailureCountingKey: Int] = [:]
    /// When each client with jobs held was last served (a running count; absent for never).
    private var lastServed: [FailureCountingKey: UInt64] = [:]
    private var served: UInt64 = 0
    private(set) var running = 0
    private(set) var total = 0

    /// What to do with a job offered to the queue.
    enum Admission {
        /// Run it now.
        case start(Job)
        /// It waits its turn; ``finished(for:)`` hands it out later.
        case queued
        /// Refused: this client already holds its share.
        case clientShareFull
        /// Refused: the queue is full.
        case queueFull
    }

    init(concurrency: Int, totalCapacity: Int, perClientCapacity: Int) {
        self.concurrency = max(1, concurrency)
        self.totalCapacity = max(1, totalCapacity)
        self.perClientCapacity = max(1, perClientCapacity)
    }

    /// Offers `job` of `client`.
    mutating func enqueue(_ job: Job, for client: FailureCountingKey) -> Admission {
        let held = self.held[client] ?? 0
        guard held < self.perClientCapacity else { return .clientShareFull }
        guard self.total < self.totalCapacity else { return .queueFull }
        self.held[client] = held + 1
        self.total += 1
        // Nothing waits (else a slot would not be free): run at once.
        if self.running < self.concurrency {
            self.running += 1
            self.markServed(client)
            return .start(job)
        }
        if self.queues[client, default: []].isEmpty { self.waiting.append(client) }
        self.queues[client, default: []].append(job)
        return .queued
    }

    /// Records that a job of `client` finished; returns the job to run in its slot, if any.
    mutating func finished(for client: FailureCountingKey) -> (job: Job, client: FailureCountingKey)? {
        self.total -= 1
        self.running -= 1
        let remaining = (self.held[client] ?? 1) - 1
        if remaining == 0 {
            self.held[client] = nil
            self.lastServed[client] = nil
        } else {
            self.held[client] = remaining
        }
        guard let position = self.nextWaitingPosition() else { return nil }
        let next = self.waiting[position]
        let job = self.queues[next]!.removeFirst()
        if self.queues[next]!.isEmpty {
            self.queues[next] = nil
            self.waiting.remove(at: position)
        }
        self.running += 1
        self.markServed(next)
        return (job, next)
    }

    /// The waiting client served least recently (never served first; among
    /// those, the one waiting longest). Linear in the waiting clients, which
    /// the capacity bounds.
    private func nextWaitingPosition() -> Int? {
        var best: (position: Int, served: UInt64)?
        for (position, client) in self.waiting.enumerated() {
            let served = self.lastServed[client] ?? 0
            if best == nil || served < best!.served { best = (position, served) }
        }
        return best?.position
    }

    private mutating func markServed(_ client: FailureCountingKey) {
        self.served += 1
        self.lastServed[client] = self.served
    }
}

extension FairHashQueue: Sendable where Job: Sendable {}
