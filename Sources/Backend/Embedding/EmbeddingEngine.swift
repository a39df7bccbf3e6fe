import Foundation

/// Serves an ``EmbeddingModel`` to concurrent requests: requests queue, and a
/// thread of the engine's own takes every request waiting (up to
/// ``maxBatchTokens`` tokens) and computes them as one batch, so that the
/// weights are read once for all of them. A request with more tokens than
/// that is computed in batches of at most ``maxBatchTokens`` (the
/// activations grow with the tokens of a batch: this bounds them).
///
/// The work runs on that thread with its own ``ComputePool``: it never
/// waits on a generation's scheduler, and a generation never waits on it.
public final class EmbeddingEngine: Sendable {
    /// The model.
    public let model: any EmbeddingModel
    /// The most tokens computed in one batch (one input longer than this
    /// still runs, alone).
    public let maxBatchTokens: Int
    private let queue: EmbeddingQueue

    /// Starts the engine's thread, computing with `threadCount` threads.
    public init(model: any EmbeddingModel, threadCount: Int = ComputePool.availableCores, maxBatchTokens: Int = 8192) {
        self.model = model
        self.maxBatchTokens = maxBatchTokens
        let queue = EmbeddingQueue()
        self.queue = queue
        let thread = Thread {
            let pool = ComputePool(threadCount: threadCount)
            while let batch = queue.nextBatch(maxTokens: maxBatchTokens) {
                let inputs = batch.flatMap(\.inputs)
                let result = Result { () throws(InferenceError) -> [[Float]] in
                    try Self.embed(inputs, model: model, maxBatchTokens: maxBatchTokens, pool: pool)
                }
                var offset = 0
                for job in batch {
                    let range = offset..<offset + job.inputs.count
                    offset += job.inputs.count
                    job.continuation.resume(with: result.map { Array($0[range]) }.mapError { $0 as any Error })
                }
            }
        }
        thread.name = "lmgate-embeddings"
        thread.start()
    }

    /// The unit-length embeddings of `inputs`, computed in a batch with
    /// whatever other requests are waiting.
    ///
    /// - Throws: ``InferenceError`` for an input the model refuses (checked
    ///   before queueing, so one bad request never fails a batch), or
    ///   ``SchedulerError`` once the engine has stopped.
    public func embed(_ inputs: [[Int32]]) async throws -> [[Float]] {
        try model.check(inputs)
        guard !inputs.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            queue.submit(EmbeddingQueue.Job(inputs: inputs, continuation: continuation))
        }
    }

    /// The embeddings of `inputs`, computed in consecutive batches of at
    /// most `maxBatchTokens` tokens (or one input, if longer).
    static func embed(_ inputs: [[Int32]], model: any EmbeddingModel, maxBatchTokens: Int, pool: ComputePool) throws(InferenceError) -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(inputs.count)
        var start = 0
        while start < inputs.count {
            var end = start + 1
            var tokens = inputs[start].count
            while end < inputs.count, tokens + inputs[end].count <= maxBatchTokens {
                tokens += inputs[end].count
                end += 1
            }
            vectors += try model.embed(Array(inputs[start..<end]), pool: pool)
            start = end
        }
        return vectors
    }

    /// Stops the thread once the queued requests are done; later requests fail.
    public func shutdown() {
        queue.stop()
    }
}
