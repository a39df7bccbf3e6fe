/// The scheduler's loop, run on its own thread: admit queued jobs, then run
/// one step — every decoding sequence's next token together with chunks of
/// the new prompts (``StepPlan``) in a single ``LanguageModel/step(_:pool:)``
/// call (continuous batching) — and report each token to its requester.
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
            step()
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

    /// Runs one step through the model, in one ``LanguageModel/step(_:pool:)``
    /// call: every decoding sequence's next token and chunks of the prompts
    /// not yet done, as ``StepPlan`` shares out
    /// ``SchedulerConfiguration/prefillChunk`` tokens. Each decoding
    /// sequence, and each sequence whose prompt completes, samples its next
    /// token from the step's logits.
    private func step() {
        let plan = StepPlan(
            sequences: sequences.map { StepPlan.Sequence(pendingPromptTokens: $0.pendingPrompt.count, decodes: $0.nextToken != nil) },
            tokenBudget: max(1, configuration.prefillChunk))
        var planned: [(sequence: ActiveSequence, chunk: SequenceChunk)] = []
        for (sequence, count) in zip(sequences, plan.tokens) where count > 0 {
            // A sliding-window cache takes at most `largestBatch` prompt tokens a pass.
            let tokens = sequence.nextToken.map { [$0] } ?? Array(sequence.pendingPrompt.prefix(min(count, sequence.cache.largestBatch)))
            // Clamped: an id beyond Int32 stays outside the vocabulary and is refused below.
            let chunk = tokens.map { Int32(clamping: $0) }
            do {
                // Checked one by one, so that one request's bad token fails
                // that request only, not every sequence of the step.
                try model.checkTokens(chunk)
                sequence.cache = sequence.cache.growing(toHold: sequence.cache.count + chunk.count, limit: contextLength, model: model)
                try model.check(sequence.cache, room: chunk.count)
            } catch {
                finish(sequence, with: .failed(error.description), keepCache: false)
                continue
            }
            let completes = sequence.nextToken != nil || chunk.count == sequence.pendingPrompt.count
            planned.append((sequence, SequenceChunk(tokens: chunk, cache: sequence.cache, wantsLogits: completes)))
        }
        guard !planned.isEmpty else { return }
        let start = ContinuousClock.now
        let logits: [[Float]?]
        do {
            logits = try model.step(planned.map(\.chunk), pool: pool)
        } catch {
            for (sequence, _) in planned { finish(sequence, with: .failed(error.description), keepCache: false) }
            return
        }
        let decoding = planned.filter { $0.sequence.nextToken != nil }.count
        if decoding > 0 {
            observer.record(.decodeStep(sequences: decoding, seconds: (ContinuousClock.now - start).seconds))
        }
        for ((sequence, chunk), row) in zip(planned, logits) {
            if let token = sequence.nextToken {
                sequence.cachedTokens.append(token)
                sequence.nextToken = nil
            } else {
                sequence.cachedTokens += sequence.pendingPrompt.prefix(chunk.tokens.count)
                sequence.pendingPrompt = sequence.pendingPrompt.dropFirst(chunk.tokens.count)
                guard sequence.pendingPrompt.isEmpty else { continue }
                observer.record(.firstToken(seconds: (ContinuousClock.now - sequence.job.submitted).seconds))
            }
            if let row { accept(row, for: sequence) }
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
