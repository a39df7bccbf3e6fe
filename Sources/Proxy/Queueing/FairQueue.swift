import NIOCore

/// Decides which waiting job runs next when jobs of many clients compete
/// for a few slots, so that a client with many jobs queued delays only
/// itself.
///
/// Each client has its own first-in first-out queue. When a slot frees,
/// the next job comes from the waiting client whose first job has the
/// highest ``QueuePriority``; among those, from the client served least
/// recently (one never served, or holding nothing since it was, goes
/// first; ties go to the client waiting longest). So clients take turns:
/// a second client's job runs after at most one more of a flooder's,
/// however many the flooder has queued.
///
/// Bounded twice: ``totalCapacity`` jobs queued or running in all, and
/// ``perClientCapacity`` for one client, so no client can take the whole
/// queue either. Every job gets a ``Ticket``; ``end(_:)`` takes a waiting
/// job out of the queue (its client gave up) or frees a running job's
/// slot and starts the next, whichever the ticket is.
///
/// A value type that only decides: ``PasswordHashScheduler`` runs password
/// hashes in this order, ``UpstreamQueue`` admits requests to the upstreams.
struct FairQueue<Client: Hashable, Job> {
    /// Most jobs running at once.
    private(set) var concurrency: Int
    /// Most jobs queued or running, all clients together.
    private(set) var totalCapacity: Int
    /// Most jobs queued or running for one client.
    private(set) var perClientCapacity: Int

    /// One job's claim, from ``enqueue(_:for:priority:)`` until ``end(_:)``.
    struct Ticket: Hashable, Sendable {
        let number: UInt64
    }

    fileprivate struct Waiting {
        let ticket: Ticket
        let job: Job
        let priority: QueuePriority
    }

    private var queues: [Client: CircularBuffer<Waiting>] = [:]
    /// Clients with queued jobs, in the order they started waiting.
    private var waiting: [Client] = []
    /// Jobs queued or running, per client with any.
    private var held: [Client: Int] = [:]
    /// When each client with jobs held was last served (a running count; absent for never).
    private var lastServed: [Client: UInt64] = [:]
    private var served: UInt64 = 0
    /// Every ticket not yet ended: its client and whether its job runs.
    private var tickets: [Ticket: (client: Client, running: Bool)] = [:]
    private var nextTicket: UInt64 = 0
    private(set) var running = 0
    private(set) var total = 0

    /// Jobs waiting for a slot.
    var waitingCount: Int { self.total - self.running }

    /// What to do with a job offered to the queue.
    enum Admission {
        /// Run it now; ``end(_:)`` the ticket when it is done.
        case start(Job, Ticket)
        /// It waits its turn; ``end(_:)`` of a running job hands it out later.
        case queued(Ticket)
        /// Refused: this client already holds its share.
        case clientShareFull
        /// Refused: the queue is full.
        case queueFull
    }

    /// A job that leaves the queue for a slot.
    struct Start {
        let job: Job
        let ticket: Ticket
        let client: Client
    }

    /// What ending a ticket did.
    enum Ending {
        /// The job was waiting: it left the queue without running.
        case leftQueue(Job)
        /// The job was running: its slot went to `next`, if anything waited.
        case finished(next: Start?)
        /// The ticket had ended already (or was never given out).
        case unknown
    }

    init(concurrency: Int, totalCapacity: Int, perClientCapacity: Int) {
        self.concurrency = max(1, concurrency)
        self.totalCapacity = max(1, totalCapacity)
        self.perClientCapacity = max(1, perClientCapacity)
    }

    /// Offers `job` of `client`.
    mutating func enqueue(_ job: Job, for client: Client, priority: QueuePriority = .normal) -> Admission {
        let held = self.held[client] ?? 0
        guard held < self.perClientCapacity else { return .clientShareFull }
        guard self.total < self.totalCapacity else { return .queueFull }
        self.held[client] = held + 1
        self.total += 1
        let ticket = Ticket(number: self.nextTicket)
        self.nextTicket += 1
        // Nothing waits (else a slot would not be free): run at once.
        if self.running < self.concurrency {
            self.running += 1
            self.markServed(client)
            self.tickets[ticket] = (client, true)
            return .start(job, ticket)
        }
        if self.queues[client, default: []].isEmpty { self.waiting.append(client) }
        self.queues[client, default: []].append(Waiting(ticket: ticket, job: job, priority: priority))
        self.tickets[ticket] = (client, false)
        return .queued(ticket)
    }

    /// Ends `ticket`: a running job's slot goes to the next waiting job, a
    /// waiting job leaves the queue. Ending a ticket twice does nothing.
    mutating func end(_ ticket: Ticket) -> Ending {
        guard let (client, running) = self.tickets.removeValue(forKey: ticket) else { return .unknown }
        self.release(client)
        guard running else {
            let queue = self.queues[client]!
            let position = queue.firstIndex { $0.ticket == ticket }!
            let job = queue[position].job
            self.queues[client]!.remove(at: position)
            if self.queues[client]!.isEmpty {
                self.queues[client] = nil
                self.waiting.removeAll { $0 == client }
            }
            return .leftQueue(job)
        }
        self.running -= 1
        // Fewer slots since a change of limits: the next waits until the running are fewer than the slots.
        return .finished(next: self.running < self.concurrency ? self.startNext() : nil)
    }

    /// Changes the limits without dropping a job: running jobs run on and
    /// waiting jobs keep their turn. With fewer slots, the next job starts
    /// once fewer than `concurrency` run; with less capacity, only jobs
    /// offered from now on are refused. Returns the waiting jobs that start
    /// now in slots added, in turn order.
    mutating func changeLimits(concurrency: Int, totalCapacity: Int, perClientCapacity: Int) -> [Start] {
        self.concurrency = max(1, concurrency)
        self.totalCapacity = max(1, totalCapacity)
        self.perClientCapacity = max(1, perClientCapacity)
        var started: [Start] = []
        while self.running < self.concurrency, let next = self.startNext() { started.append(next) }
        return started
    }

    /// Counts one job of `client` gone from the queue or its slot.
    private mutating func release(_ client: Client) {
        self.total -= 1
        let remaining = (self.held[client] ?? 1) - 1
        if remaining == 0 {
            self.held[client] = nil
            self.lastServed[client] = nil
        } else {
            self.held[client] = remaining
        }
    }

    /// Starts the next waiting job in the free slot, if one waits.
    private mutating func startNext() -> Start? {
        guard let position = self.nextWaitingPosition() else { return nil }
        let next = self.waiting[position]
        let waiting = self.queues[next]!.removeFirst()
        if self.queues[next]!.isEmpty {
            self.queues[next] = nil
            self.waiting.remove(at: position)
        }
        self.running += 1
        self.markServed(next)
        self.tickets[waiting.ticket] = (next, true)
        return Start(job: waiting.job, ticket: waiting.ticket, client: next)
    }

    /// The waiting client whose first job has the highest priority; among
    /// those, the one served least recently (never served first), then the
    /// one waiting longest. Linear in the waiting clients, which the
    /// capacity bounds.
    private func nextWaitingPosition() -> Int? {
        var best: (position: Int, priority: QueuePriority, served: UInt64)?
        for (position, client) in self.waiting.enumerated() {
            let priority = self.queues[client]!.first!.priority
            let served = self.lastServed[client] ?? 0
            if let current = best, (current.priority, current.served) <= (priority, served) { continue }
            best = (position, priority, served)
        }
        return best?.position
    }

    private mutating func markServed(_ client: Client) {
        self.served += 1
        self.lastServed[client] = self.served
    }

    /// Whether `ticket`'s job is waiting (not running, not ended).
    func isWaiting(_ ticket: Ticket) -> Bool {
        self.tickets[ticket].map { !$0.running } ?? false
    }

    /// Jobs of `client` queued or running.
    func held(by client: Client) -> Int { self.held[client] ?? 0 }

    /// Jobs waiting with each priority.
    var waitingByPriority: [QueuePriority: Int] {
        var counts: [QueuePriority: Int] = [:]
        for queue in self.queues.values {
            for waiting in queue { counts[waiting.priority, default: 0] += 1 }
        }
        return counts
    }
}

extension FairQueue: Sendable where Client: Sendable, Job: Sendable {}
extension FairQueue.Waiting: Sendable where Client: Sendable, Job: Sendable {}
