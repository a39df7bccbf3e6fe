import Foundation
import Testing

@testable import Backend

/// The continuous-batching scheduler on a real fixture model.
@Suite("Inference scheduler", .serialized)
struct SchedulerTests {
    static let modelName = "tiny-llama-spm-f16"

    private static func load() throws -> (LanguageModel, Tokenizer) {
        let file = try GGUFFile(path: FixtureModels.path(modelName))
        return (try LanguageModel(file: file), try Tokenizer(TokenizerVocabulary(gguf: file)))
    }

    private static func configuration(parallel: Int, queue: Int = 8) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration()
        configuration.maxActiveSequences = parallel
        configuration.maxQueuedRequests = queue
        configuration.threads = 1
        return configuration
    }

    /// Submits a generation; its events arrive on the returned stream, which ends after the last one.
    private static func submit(
        _ scheduler: InferenceScheduler, _ prompt: [Int], _ options: GenerationOptions
    ) throws -> (GenerationTicket, AsyncStream<GenerationEvent>) {
        let (events, continuation) = AsyncStream<GenerationEvent>.makeStream()
        let ticket = try scheduler.submit(promptTokens: prompt, options: options) { event in
            continuation.yield(event)
            switch event {
            case .step: break
            case .finished, .failed: continuation.finish()
            }
        }
        return (ticket, events)
    }

    private static func collect(_ events: AsyncStream<GenerationEvent>) async -> (tokens: [Int], text: String, summary: GenerationSummary?) {
        var tokens: [Int] = []
        var text = ""
        var summary: GenerationSummary?
        for await event in events {
            switch event {
            case .step(let step):
                tokens.append(step.token.token)
                text += step.text
            case .finished(let finished): summary = finished
            case .failed(let message): Issue.record("generation failed: \(message)")
            }
        }
        return (tokens, text, summary)
    }

    private static func greedy(_ maxTokens: Int) -> GenerationOptions {
        GenerationOptions(maxTokens: maxTokens, sampling: .greedy, ignoreEndOfGeneration: true)
    }

    /// With the default step budget, three prompts run in one step and
    /// then decode together; with a budget of 7 tokens every prompt is cut
    /// into chunks that run in steps beside the tokens of the sequences
    /// already decoding (the 288-token prompt over many steps). Either way
    /// the greedy tokens must be llama.cpp's.
    @Test("sequences generated together match llama.cpp's greedy tokens and share decoding steps",
          arguments: [(parallel: 3, stepBudget: 256, prompts: 3), (parallel: 5, stepBudget: 7, prompts: 5)])
    func batchedGreedyMatchesReference(parallel: Int, stepBudget: Int, prompts: Int) async throws {
        let (model, tokenizer) = try Self.load()
        let metrics = BackendMetrics()
        var configuration = Self.configuration(parallel: parallel)
        configuration.prefillChunk = stepBudget
        let scheduler = InferenceScheduler(model: model, tokenizer: tokenizer, configuration: configuration, observer: metrics)
        defer { scheduler.shutdown() }
        let cases = Array(try FixtureModels.reference(Self.modelName).cases.prefix(prompts))
        let count = 6
        var streams: [AsyncStream<GenerationEvent>] = []
        for testCase in cases {
            streams.append(try Self.submit(scheduler, testCase.promptTokens.map { Int($0) }, Self.greedy(count)).1)
        }
        for (testCase, stream) in zip(cases, streams) {
            let result = await Self.collect(stream)
            #expect(result.tokens == testCase.generatedTokens.prefix(count).map { Int($0) }, "\(testCase.prompt)")
            #expect(result.summary?.finishReason == .length)
            #expect(result.summary?.completionTokens == count)
            #expect(result.text == String(decoding: result.tokens.flatMap { tokenizer.pieceBytes($0) }, as: UTF8.self))
        }
        #expect(metrics.maximumBatch >= 2)
        #expect(metrics.activeSequences == 0)
    }

    @Test("a prompt that starts like a finished one reuses its KV cache and gives the same tokens")
    func prefixReuse() async throws {
        let (model, tokenizer) = try Self.load()
        let scheduler = InferenceScheduler(model: model, tokenizer: tokenizer, configuration: Self.configuration(parallel: 2), observer: BackendMetrics())
        defer { scheduler.shutdown() }
        let prompt = tokenizer.encode("The proxy checked every request, and only then did it pass it on.")
        let first = await Self.collect(try Self.submit(scheduler, prompt, Self.greedy(4)).1)
        #expect(first.summary?.cachedPromptTokens == 0)
        let again = await Self.collect(try Self.submit(scheduler, prompt, Self.greedy(4)).1)
        #expect(again.summary?.cachedPromptTokens == prompt.count - 1)
        #expect(again.tokens == first.tokens)
        // A longer prompt continuing the first conversation reuses the prompt and the generated tokens.
        let longer = prompt + first.tokens + tokenizer.encode(" Next", addSpecialTokens: false)
        let third = await Self.collect(try Self.submit(scheduler, longer, Self.greedy(2)).1)
        #expect((third.summary?.cachedPromptTokens ?? 0) >= prompt.count + first.tokens.count - 1)
    }

    @Test("a cancelled sequence stops and frees its slot; a full queue refuses")
    func cancelAndQueueFull() async throws {
        let (model, tokenizer) = try Self.load()
        let metrics = BackendMetrics()
        let scheduler = InferenceScheduler(model: model, tokenizer: tokenizer, configuration: Self.configuration(parallel: 1, queue: 1), observer: metrics)
        defer { scheduler.shutdown() }
        let prompt = tokenizer.encode("Hello world")
        let (ticket, events) = try Self.submit(scheduler, prompt, Self.greedy(400))
        let (queuedTicket, _) = try Self.submit(scheduler, prompt, Self.greedy(400))
        #expect(throws: SchedulerError.self) { try Self.submit(scheduler, prompt, Self.greedy(4)) }
        scheduler.cancel(queuedTicket)
        var iterator = events.makeAsyncIterator()
        guard case .step? = await iterator.next() else {
            Issue.record("no first token")
            return
        }
        scheduler.cancel(ticket)
        var waited = 0
        while metrics.activeSequences != 0 && waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(metrics.activeSequences == 0)
        // The tiny model writes its 400 tokens in milliseconds, so on a loaded
        // machine the generation can end on its own before this task gets to
        // cancel it (all 400 tokens generated): then only the queued one was cancelled.
        let generated = metrics.render().split(separator: "\n")
            .first { $0.hasPrefix("lmgate_backend_generated_tokens_total ") }
            .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        let endedOnItsOwn = generated >= 400
        // Both slots are free again: a new generation runs to the end.
        let after = await Self.collect(try Self.submit(scheduler, prompt, Self.greedy(2)).1)
        #expect(after.summary?.completionTokens == 2)
        #expect(metrics.render().contains("lmgate_backend_requests_cancelled_total \(endedOnItsOwn ? 1 : 2)"))
    }

    @Test("the sequence generator stops before a stop sequence split over tokens and names it")
    func stopSequenceAcrossTokens() throws {
        let (_, tokenizer) = try Self.load()
        let target = tokenizer.encode("Hello brave new world", addSpecialTokens: false)
        // Logits that force the target tokens one after another.
        var sequence = SequenceGenerator(
            tokenizer: tokenizer, promptTokens: [1],
            options: GenerationOptions(maxTokens: 20, sampling: .greedy, stopSequences: ["ve ne"]))
        var shown = ""
        for token in target {
            var logits = [Float](repeating: 0, count: tokenizer.vocabularySize)
            logits[token] = 10
            let step = sequence.accept(logits, canContinue: true)
            shown += step.text
            if step.finishReason != nil { break }
        }
        #expect(sequence.finishReason == .stop)
        #expect(sequence.matchedStopSequence == "ve ne")
        #expect(shown == " Hello bra" || shown == "Hello bra")
    }

    @Test("the prefix cache pool hands out the longest shared prefix")
    func prefixPool() throws {
        let (model, _) = try Self.load()
        var pool = PrefixCachePool(capacity: 2)
        let a = KVCache(for: model, capacity: 16)
        a.count = 5
        let b = KVCache(for: model, capacity: 16)
        b.count = 4
        pool.put(a, tokens: [1, 2, 3, 4, 5])
        pool.put(b, tokens: [1, 2, 9, 9])
        let found = pool.take(forPrompt: [1, 2, 3, 4, 5])
        let taken = try #require(found)
        #expect(taken.cache === a && taken.reused == 4 && a.count == 4)
        #expect(pool.take(forPrompt: [7, 8]).map { $0.cache === b && $0.reused == 0 } == nil)
        let grown = b.growing(toHold: 40, limit: 512, model: model)
        #expect(grown.capacity == 40 && grown.count == 4)
    }
}
