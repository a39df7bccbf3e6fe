import Foundation
import Synchronization
import Testing

@testable import Backend

/// The engine reports ``SchedulerEvent``s to any observer: it needs nothing
/// of the server's, and ``BackendMetrics`` counts what it is told per model.
@Suite struct SchedulerEventTests {
    /// Keeps every event it is given.
    final class RecordingObserver: SchedulerObserver {
        let events = Mutex<[SchedulerEvent]>([])
        func record(_ event: SchedulerEvent) { events.withLock { $0.append(event) } }
    }

    @Test func aGenerationIsReportedAsEventsToAnyObserver() async throws {
        let file = try GGUFFile(path: FixtureModels.path("tiny-llama-spm-f16"))
        let observer = RecordingObserver()
        var configuration = SchedulerConfiguration()
        configuration.threads = 1
        let scheduler = InferenceScheduler(
            model: try LanguageModel(file: file), tokenizer: try Tokenizer(TokenizerVocabulary(gguf: file)), configuration: configuration,
            observer: observer)
        defer { scheduler.shutdown() }
        let (done, finished) = AsyncStream<Void>.makeStream()
        _ = try scheduler.submit(
            promptTokens: [1, 15043, 29892], options: GenerationOptions(maxTokens: 3, sampling: .greedy, ignoreEndOfGeneration: true)
        ) { event in
            if case .finished = event { finished.finish() }
        }
        for await _ in done {}
        // The scheduler sets the gauge back to 0 after the sequence leaves, just after its last event.
        for _ in 0..<500 where observer.events.withLock({ $0.last }) != .activeSequences(0) {
            try await Task.sleep(for: .milliseconds(2))
        }
        let events = observer.events.withLock { $0 }
        #expect(events.contains(.promptStarted(tokens: 3, cached: 0)))
        #expect(events.contains { if case .firstToken = $0 { true } else { false } })
        #expect(events.filter { $0 == .tokensGenerated(1) }.count == 3)
        #expect(events.contains(.activeSequences(1)) && events.last == .activeSequences(0))
    }

    @Test func metricsSumEachModelsGaugesAndForgetAnUnloadedModel() {
        let metrics = BackendMetrics()
        metrics.observer(model: "a").record(.activeSequences(2))
        metrics.observer(model: "b").record(.activeSequences(3))
        metrics.observer(model: "b").record(.queueDepth(4))
        metrics.observer(model: "a").record(.tokensGenerated(5))
        #expect(metrics.activeSequences == 5)
        #expect(metrics.render().contains("lmgate_backend_queue_depth 4"))
        #expect(metrics.render().contains("lmgate_backend_generated_tokens_total 5"))
        metrics.modelUnloaded("b", loaded: 1)
        #expect(metrics.activeSequences == 2)
        #expect(metrics.render().contains("lmgate_backend_queue_depth 0"))
        #expect(metrics.render().contains("lmgate_backend_models_loaded 1"))
    }
}
