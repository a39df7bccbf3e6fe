/// The scheduler's loop, run on its own thread: admit queued jobs, compute
/// new prompts (a bounded number of tokens), then advance every decoding sequence by one
/// token in a single ``LanguageModel/decode(_:pool:)`` call (continuous
/// batching), and report each token to its requester.
///
/// Everything here is confined to that thread; requesters reach it only
/// through the ``SchedulerMailbox``.
final class SchedulerWorker {
    private let model: LanguageModel
    private let tokenizer: Tokenizer
    private let configuration: SchedulerConfiguration
    private let mailbox: SchedulerMailbox
    private let observer: any SchedulerObserver
    private let pool: ComputePool
    private let contextLength: Int
    private var sequences: [ActiveSequence] = []
    private var keptCaches: PrefixCachePool

    init(model: LanguageModel, tokenizer: Tokenizer, configuration: SchedulerConfiguration, mailbox: SchedulerMailbox, observer: any SchedulerObserver) {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.mailbox = mailbox
        self.observer = observer
        pool = ComputePool(threadCount: max(1, configuration.threads))
        contextLength = model.configuration.contextLength
        keptCaches = PrefixCachePool(capacity: configuration.keptCaches)
    }

    /// Runs until the mailbox is stopped.
    func run() {
        while true {
            let mail = mailbox.collect(
                freeSlots: configuration.maxActiveSequences - sequences.count, busy: !sequences.isEmpty)
            if mail.stopping {
                for sequence in sequences { finish(sequence, with: .failed("the server is shutting down"), keepCache: false) }
                return
            }
            if !mail.cancelled.isEmpty {
                for sequence in sequences where mail.cancelled.contains(sequence.job.id) {
                    observer.record(.sequenceCancelled)
                    finish(sequence, with: nil, keepCache: sequence.pendingPrompt.isEmpty)
                }
            }
            for job in mail.jobs { admit(job) }
            observer.record(.activeSequences(sequences.count))
            prefill()
            decodeStep()
            observer.record(.activeSequences(sequences.count))
        }
    }

    private func admit(_ job: ScheduledJob) {
        guard !job.promptTokens.isEmpty else {
            mailbox.retire(job.id)
            job.sink(.failed("the prompt is empty: there is nothing to continue"))
            return
        }
        let wanted = min(contextLength, job.promptTokens.count + min(job.options.maxTokens, 256))
        var cache: KVCache
        var reused = 0
        if let kept = keptCaches.take(forPrompt: job.promptTokens) {
            (cache, reused) = kept
            cache = cache.growing(toHold: wanted, limit: contextLength, model: model)
        } else {
            cache = KVCache(for: model, capacity: wanted)
        }
        observer.record(.promptStarted(tokens: job.promptTokens.count, cached: reused))
        let generator = SequenceGenerator(tokenizer: tokenizer, promptTokens: job.promptTokens, options: job.options)
        sequences.append(ActiveSequence(job: job, generator: generator, cache: cache, reusedPromptTokens: reused))
    }

    /// Runs prompt tokens of the sequences whose prompts are not done, in
    /// order, up to ``SchedulerConfiguration/prefillChunk`` tokens in all
    /// (at least one chunk), so that several short prompts arriving together
    /// all start before the next decoding step while a long one is cut into
    /// chunks. A sequence whose prompt completes samples its first token.
    private func prefill() {
        var budget = max(1, configuration.prefillChunk)
        for sequence in sequences where !sequence.pendingPrompt.isEmpty {
            guard budget > 0 else { return }
            let chunk = Array(sequence.pendingPrompt.prefix(budget))
            budget -= chunk.count
            do {
                sequence.cache = sequence.cache.growing(toHold: sequence.cache.count + chunk.count, limit: contextLength, model: model)
                let logits = try model.forward(chunk.map { Int32($0) }, cache: sequence.cache, pool: pool)
                sequence.cachedTokens += chunk
                sequence.pendingPrompt = sequence.pendingPrompt.dropFirst(chunk.count)
                if sequence.pendingPrompt.isEmpty {
                    observer.record(.firstToken(seconds: (ContinuousClock.now - sequence.job.submitted).seconds))
                    accept(logits, for: sequence)
                }
            } catch {
                finish(sequence, with: .failed(error.description), keepCache: false)
            }
        }
    }

    /// Advances every sequence that has a token to feed by one token, in one call.
    private func decodeStep() {
        let decoding = sequences.filter { $0.nextToken != nil }
        guard !decoding.isEmpty else { return }
        for sequence in decoding {
            sequence.cache = sequence.cache.growing(toHold: sequence.cache.count + 1, limit: contextLength, model: model)
        }
        let entries = decoding.map { DecodeStepEntry(token: Int32($0.nextToken ?? 0), cache: $0.cache) }
        let start = ContinuousClock.now
        let logits: [[Float]]
        do {
            logits = try model.decode(entries, pool: pool)
        } catch {
            for sequence in decoding { finish(sequence, with: .failed(error.description), keepCache: false) }
            return
        }
        observer.record(.decodeStep(sequences: decoding.count, seconds: (ContinuousClock.now - start).seconds))
        for (sequence, row) in zip(decoding, logits) {
            if let token = sequence.nextToken { sequence.cachedTokens.append(token) }
            sequence.nextToken = nil
            accept(row, for: sequence)
        }
    }

    private func accept(_ logits: [Float], for sequence: ActiveSequence) {
        let step = sequence.generator.accept(logits, canContinue: sequence.cache.count < contextLength)
        observer.record(.tokensGenerated(1))
        sequence.job.sink(.step(step))
        if step.finishReason != nil {
            finish(sequence, with: .finished(sequence.summary), keepCache: true)
        } else {
            sequence.nextToken = step.token.token
        }
    }

    /// Removes `sequence`, tells its requester `event` (none when it was
    /// cancelled), and keeps its cache for prefix reuse if it is sound.
    private func finish(_ sequence: ActiveSequence, with event: GenerationEvent?, keepCache: Bool) {
        sequences.removeAll { $0 === sequence }
        observer.record(.activeSequences(sequences.count))
        mailbox.retire(sequence.job.id)
        if keepCache && sequence.cache.count == sequence.cachedTokens.count {
            keptCaches.put(sequence.cache, tokens: sequence.cachedTokens)
        }
        if let event { sequence.job.sink(event) }
    }
}
