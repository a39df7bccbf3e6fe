import Foundation
import Testing

@testable import Backend

/// How waiting embedding requests are grouped into batches.
@Suite struct EmbeddingQueueTests {
    /// Queues jobs of the given token counts (their continuations resumed by
    /// the test) and returns the sizes of the batches the queue hands out.
    static func batchSizes(of tokenCounts: [Int], maxTokens: Int) async -> [[Int]] {
        let queue = EmbeddingQueue()
        var tasks: [Task<[[Float]], any Error>] = []
        for count in tokenCounts {
            let (ready, signal) = AsyncStream.makeStream(of: Void.self)
            tasks.append(Task {
                try await withCheckedThrowingContinuation { continuation in
                    queue.submit(.init(inputs: [[Int32](repeating: 1, count: count)], continuation: continuation))
                    signal.yield()
                }
            })
            // Queued in order: the next job is submitted after this one is.
            for await _ in ready { break }
        }
        queue.stop()
        var sizes: [[Int]] = []
        while let batch = queue.nextBatch(maxTokens: maxTokens) {
            sizes.append(batch.map(\.tokenCount))
            for job in batch { job.continuation.resume(returning: []) }
        }
        for task in tasks { _ = try? await task.value }
        return sizes
    }

    @Test func waitingRequestsGoTogetherUpToTheTokenBudget() async {
        #expect(await Self.batchSizes(of: [3, 4, 5], maxTokens: 100) == [[3, 4, 5]])
        #expect(await Self.batchSizes(of: [3, 4, 5], maxTokens: 8) == [[3, 4], [5]])
    }

    @Test func aRequestLargerThanTheBudgetStillRunsAlone() async {
        #expect(await Self.batchSizes(of: [50, 2], maxTokens: 10) == [[50], [2]])
    }
}
