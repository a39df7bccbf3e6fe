/// What an ``InferenceScheduler`` reports as it works. The engine only
/// reports; the server decides what to count (``BackendMetrics``), so the
/// engine depends on nothing of the server's.
public enum SchedulerEvent: Sendable, Equatable {
    /// Requests waiting for a free sequence slot, now.
    case queueDepth(Int)
    /// Sequences being generated, now.
    case activeSequences(Int)
    /// A generation started with `tokens` prompt tokens, `cached` of them taken from a kept KV cache.
    case promptStarted(tokens: Int, cached: Int)
    /// A generation produced its first token `seconds` after it was submitted.
    case firstToken(seconds: Double)
    /// One decoding step served `sequences` sequences in `seconds`.
    case decodeStep(sequences: Int, seconds: Double)
    /// Tokens were generated.
    case tokensGenerated(Int)
    /// A generation was stopped because its client went away.
    case sequenceCancelled
}

/// Receives a scheduler's ``SchedulerEvent``s, on the scheduler's thread or
/// a request's: it must return quickly and be safe from any thread.
public protocol SchedulerObserver: Sendable {
    func record(_ event: SchedulerEvent)
}
