import Foundation
import Synchronization
import Testing
@testable import Backend
@testable import Kernels

@Suite("Kernels: ComputePool")
struct KernelsComputePoolTests {
    @Test("every index is visited exactly once, in granularity-aligned chunks", arguments: [1, 2, 3])
    func coversRangeOnce(threads: Int) {
        let pool = ComputePool(threadCount: threads)
        for count in [1, 2, 5, 64, 1001] {
            let visits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            visits.initialize(repeating: 0, count: count)
            defer { visits.deallocate() }
            let misaligned = Atomic<Int>(0)
            // Many calls in a row: workers must pick up each new job.
            for _ in 0..<200 {
                pool.parallelFor(count: count, granularity: 4) { range in
                    if range.lowerBound % 4 != 0 { misaligned.add(1, ordering: .relaxed) }
                    for index in range { visits[index] += 1 }
                }
            }
            #expect((0..<count).allSatisfy { visits[$0] == 200 }, "count \(count)")
            #expect(misaligned.load(ordering: .relaxed) == 0)
        }
    }

    /// Jobs of a few chunks follow each other with no pause, so a worker
    /// often arrives after the caller has taken every chunk: it must skip
    /// that job (never run a finished job's body) and still join later ones.
    @Test("jobs in quick succession each run exactly once", arguments: [2, 3])
    func quickSuccession(threads: Int) {
        let pool = ComputePool(threadCount: threads)
        let count = 16
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: count)
        sums.initialize(repeating: 0, count: count)
        defer { sums.deallocate() }
        let jobs = 20_000
        let ranByWorkers = Atomic<Int>(0)
        let caller = pthread_self()
        for job in 1...jobs {
            pool.parallelFor(count: count, granularity: 4) { range in
                if pthread_equal(pthread_self(), caller) == 0 { ranByWorkers.add(1, ordering: .relaxed) }
                // Tiny jobs are usually over before a worker arrives; a slow one
                // now and then lets the workers in.
                if job % 100 == 0 { usleep(200) }
                for index in range { sums[index] += job }
            }
        }
        #expect((0..<count).allSatisfy { sums[$0] == jobs * (jobs + 1) / 2 })
        // The workers did take part (the test would pass trivially otherwise).
        #expect(ranByWorkers.load(ordering: .relaxed) > 0)
    }

    @Test("a parallelFor inside a body runs serially instead of deadlocking")
    func nestedCallsComplete() {
        let pool = ComputePool(threadCount: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(count: 8) { outer in
            for _ in outer {
                pool.parallelFor(count: 10) { inner in total.add(inner.count, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == 80)
    }

    @Test("workers that went to sleep wake for the next job")
    func sleepingWorkersWake() async throws {
        let pool = ComputePool(threadCount: 2, spinIterations: 10)
        let total = Atomic<Int>(0)
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(20))
            pool.parallelFor(count: 100) { total.add($0.count, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 500)
    }
}
