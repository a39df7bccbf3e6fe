import Foundation

/// Shares one model between many requests with continuous batching.
///
/// Up to ``SchedulerConfiguration/maxActiveSequences`` sequences are
/// generated at once: each step advances all of them by one token in one
/// ``LanguageModel/step(_:pool:)`` call, and the prompts of new requests
/// ride in the same call, several prompts together, a long one in chunks
/// (``StepPlan``); a finished or cancelled one leaves at once and its slot goes to the next
/// queued request. Beyond the active sequences, up to
/// ``SchedulerConfiguration/maxQueuedRequests`` requests wait; more are
/// refused with ``SchedulerError/Code/queueFull``. Finished sequences' KV
/// caches are kept, and a prompt that begins like one of them (the next turn
/// of a chat) starts from the shared prefix.
///
/// The work runs on a thread of its own (it blocks on BLAS and the compute
/// pool, which must not happen on the cooperative pool or an event loop).
///
/// ```swift
/// let scheduler = InferenceScheduler(model: model, tokenizer: tokenizer, configuration: .init(), observer: observer)
/// let ticket = try scheduler.submit(promptTokens: tokens, options: options) { event in … }
/// scheduler.cancel(ticket)   // the client went away
/// ```
public final class InferenceScheduler: Sendable {
    /// The configuration in force.
    public let configuration: SchedulerConfiguration
    private let mailbox: SchedulerMailbox

    public init(model: LanguageModel, tokenizer: Tokenizer, configuration: SchedulerConfiguration, observer: any SchedulerObserver) {
        self.configuration = configuration
        let mailbox = SchedulerMailbox(
            capacity: max(1, configuration.maxActiveSequences) + max(0, configuration.maxQueuedRequests),
            burst: configuration.burstGathering, observer: observer)
        self.mailbox = mailbox
        let thread = Thread {
            SchedulerWorker(model: model, tokenizer: tokenizer, configuration: configuration, mailbox: mailbox, observer: observer).run()
        }
        thread.name = "lmgate-scheduler"
        thread.start()
    }

    /// Queues a generation of `options.maxTokens` tokens at most after
    /// `promptTokens` (which must fit in the model's context, leaving room
    /// for one token). `sink` is called on the scheduler's thread with each
    /// ``GenerationEvent``; it must return quickly (hand the event to an
    /// event loop).
    ///
    /// - Throws: ``SchedulerError`` when the queue is full or the scheduler stops.
    public func submit(
        promptTokens: [Int], options: GenerationOptions, sink: @escaping @Sendable (GenerationEvent) -> Void
    ) throws(SchedulerError) -> GenerationTicket {
        try mailbox.submit(promptTokens: promptTokens, options: options, sink: sink)
    }

    /// Stops a generation: a queued one is withdrawn at once, an active one
    /// leaves before the next decoding step. Its sink is not called again
    /// (unless an event was already on its way).
    public func cancel(_ ticket: GenerationTicket) {
        mailbox.cancel(ticket)
    }

    /// Refuses new work and ends every generation with a failure.
    public func shutdown() {
        mailbox.stop()
    }
}
