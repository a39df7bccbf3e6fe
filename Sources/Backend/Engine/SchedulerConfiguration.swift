/// How the ``InferenceScheduler`` shares the model between requests.
public struct SchedulerConfiguration: Sendable, Equatable {
    /// The most sequences generated at once (each decoding step serves all of them).
    public var maxActiveSequences: Int = 8
    /// The most requests waiting for a free sequence beyond those; more are refused.
    public var maxQueuedRequests: Int = 32
    /// Threads the model computes on.
    public var threads: Int = ComputePool.availableCores
    /// Finished sequences' KV caches kept for prompts that share their prefix.
    public var keptCaches: Int = 8
    /// The most tokens one step runs through the model: the decoding
    /// sequences' tokens and chunks of new prompts together (``StepPlan``),
    /// so that a long new prompt delays the streams already running by one
    /// chunk at a time.
    public var prefillChunk: Int = 256
    /// How long an idle scheduler waits for the rest of a burst of requests
    /// before it runs the first one's prompt (``SchedulerMailbox``).
    public var burstGathering = BurstGathering()

    public init() {}

    /// How long an idle scheduler waits for more requests after one arrives.
    public struct BurstGathering: Sendable, Equatable {
        /// The burst has ended when no request has come for this long. What
        /// a lone request's first token waits more; 2 ms split a burst of
        /// eight streams (2 + 6) on a loaded machine.
        public var quietGap: Duration = .milliseconds(5)
        /// The longest wait, however many requests keep coming.
        public var longest: Duration = .milliseconds(25)

        public init() {}
    }
}

/// Why a generation could not be submitted.
public struct SchedulerError: Error, Sendable, CustomStringConvertible {
    /// A kind of submission failure.
    public enum Code: Sendable, Equatable {
        /// Every sequence is busy and the queue is full.
        case queueFull
        /// The scheduler is stopping.
        case shuttingDown
    }

    public let code: Code
    public let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Names one submitted generation, to cancel it.
public struct GenerationTicket: Sendable, Hashable {
    let id: UInt64
}
