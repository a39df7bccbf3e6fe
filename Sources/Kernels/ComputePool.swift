import Foundation
import Synchronization

/// Persistent worker threads that split a loop over rows between themselves
/// and the calling thread.
///
/// Decoding one token calls ``parallelFor(count:granularity:body:)`` hundreds
/// of times, each call lasting tens of microseconds, so a call must cost far
/// less than that: no thread is created per call and no lock is taken on the
/// fast path. Workers spin on a generation counter for a while after each
/// job (the next one usually follows within microseconds) and only then
/// sleep on a condition variable.
///
/// The caller does not wait for a worker that has not started on a job by
/// the time every chunk is taken: on a shared machine a worker is often
/// descheduled for a whole time slice, and waiting for it made each of a
/// token's hundred jobs as slow as the scheduler (the caller runs the
/// chunks instead, and the late worker skips the job).
///
/// One job runs at a time. A call made while another is running (from a
/// second thread, or from inside a `body`) runs serially on its calling
/// thread instead of waiting, so nesting cannot deadlock.
public final class ComputePool: @unchecked Sendable {
    /// The threads that run a job: the workers plus the calling thread.
    public let threadCount: Int
    private let state: PoolState

    /// The processors this process may use.
    public static var availableCores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Starts `threadCount − 1` workers (the caller of a job is the last thread).
    ///
    /// - Parameters:
    ///   - threadCount: threads per job, at least 1; defaults to all cores.
    ///   - spinIterations: how long an idle worker polls for the next job
    ///     before sleeping.
    public init(threadCount: Int = ComputePool.availableCores, spinIterations: Int = 200_000) {
        self.threadCount = max(1, threadCount)
        self.state = PoolState(workerCount: self.threadCount - 1, spinIterations: spinIterations)
        for index in 0..<(self.threadCount - 1) {
            let state = self.state
            let thread = Thread { state.workerLoop() }
            thread.name = "lmgate-compute-\(index + 1)"
            thread.start()
        }
    }

    deinit {
        state.stop()
    }

    /// Calls `body` on consecutive subranges that together cover `0..<count`,
    /// in parallel on the pool's threads, and returns when all have finished.
    ///
    /// Every subrange except the last has a length that is a multiple of
    /// `granularity` (so a kernel that handles rows four at a time can ask for
    /// 4). `body` runs concurrently on disjoint ranges and must only write
    /// what its range owns.
    public func parallelFor(count: Int, granularity: Int = 1, body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let granularity = max(1, granularity)
        let units = (count + granularity - 1) / granularity
        // A few chunks per thread balance the load when a core is busy with
        // something else, without many chunk boundaries.
        let chunkCount = min(units, threadCount * 4)
        guard threadCount > 1, chunkCount > 1, state.tryAcquire() else {
            body(0..<count)
            return
        }
        let unitsPerChunk = (units + chunkCount - 1) / chunkCount
        withoutActuallyEscaping(body) { body in
            state.run(PoolState.Job(
                body: body, count: count, chunkLength: unitsPerChunk * granularity))
        }
        state.release()
    }
}

/// The state the workers share with the pool; workers keep it alive, so the
/// pool itself can be released (its `deinit` tells them to stop).
private final class PoolState: @unchecked Sendable {
    struct Job {
        let body: (Range<Int>) -> Void
        let count: Int
        let chunkLength: Int
    }

    let workerCount: Int
    let spinIterations: Int
    /// Bumped once per job (and once at stop); workers wait for it to change.
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    /// The workers running the current job, plus ``closed`` once the caller
    /// has taken the last chunk: a worker joins only while it is open, so
    /// the caller waits for exactly the workers that joined.
    private let participants = Atomic<Int>(0)
    private static let closed = 1 << 32
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let condition = NSCondition()
    /// Written by the caller before `generation` is bumped (release) and read
    /// by workers after they observe the bump (acquire).
    private var job: Job?

    init(workerCount: Int, spinIterations: Int) {
        self.workerCount = workerCount
        self.spinIterations = spinIterations
    }

    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() {
        busy.store(false, ordering: .releasing)
    }

    func run(_ job: Job) {
        self.job = job
        nextChunk.store(0, ordering: .relaxed)
        // Releasing: a worker that joins (acquiring) sees this job.
        participants.store(0, ordering: .releasing)
        publish()
        runChunks(of: job)
        // Every chunk is taken: close the job to workers still on their way.
        participants.bitwiseOr(Self.closed, ordering: .acquiringAndReleasing)
        var spins = 0
        while participants.load(ordering: .acquiring) != Self.closed {
            spins += 1
            // The workers may have been descheduled: stop burning the core they need.
            if spins > spinIterations { sched_yield() }
        }
        self.job = nil
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        publish()
    }

    /// Makes a new generation visible and wakes the sleeping workers. The
    /// sequentially consistent pair (bump, then read `sleepers`) against the
    /// workers' (count in `sleepers`, then read `generation`) ensures that a
    /// worker either sees the bump or is seen sleeping and woken.
    private func publish() {
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
    }

    private func runChunks(of job: Job) {
        while true {
            let chunk = nextChunk.add(1, ordering: .relaxed).oldValue
            let start = chunk * job.chunkLength
            guard start < job.count else { return }
            job.body(start..<min(start + job.chunkLength, job.count))
        }
    }

    func workerLoop() {
        // Workers are created before the first job, when the generation is
        // 0: starting from a fresh load could miss a job published before
        // this thread began.
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins > spinIterations {
                    condition.lock()
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        condition.wait()
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    condition.unlock()
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            guard join() else { continue }
            if let job { runChunks(of: job) }
            participants.subtract(1, ordering: .releasing)
        }
    }

    /// Counts this worker into the current job unless the caller has closed
    /// it (then the job may already be gone, and must not be read).
    private func join() -> Bool {
        var current = participants.load(ordering: .relaxed)
        while current & Self.closed == 0 {
            let (exchanged, original) = participants.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }
}
