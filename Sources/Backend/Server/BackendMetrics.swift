import Foundation
import PrometheusText
import Synchronization

/// The backend's counters, rendered in the Prometheus text exposition format
/// (version 0.0.4) by ``render()``, in the style of the proxy's `ProxyMetrics`.
///
/// - `lmgate_backend_requests_total{endpoint,status}`: answered requests (`endpoint`
///   from a fixed set, `other` for any other path);
/// - `lmgate_backend_prompt_tokens_total`, `lmgate_backend_prompt_tokens_cached_total`
///   (prompt positions taken from a kept KV cache), `lmgate_backend_generated_tokens_total`;
/// - `lmgate_backend_generation_tokens_per_second`: aggregate decoding speed
///   over the last measured window;
/// - `lmgate_backend_time_to_first_token_seconds`: histogram from submission to the first token;
/// - `lmgate_backend_queue_depth`, `lmgate_backend_active_sequences`: gauges;
/// - `lmgate_backend_decode_steps_total`, `lmgate_backend_decode_step_sequences_total`
///   and `lmgate_backend_decode_batch_size_max`: how many sequences shared each step;
/// - `lmgate_backend_requests_cancelled_total`: generations stopped because the client left;
/// - `lmgate_backend_model_loaded`: 1 while a model is loaded; `lmgate_backend_models_loaded`: how many;
///   `lmgate_backend_model_loads_total{result}`, `lmgate_backend_model_unloads_total`;
/// - `lmgate_backend_info{blas_core,blas_core_reason,cpu}`: 1, the ``EnginePlatform``
///   the engine computes on (when one was given).
///
/// The schedulers report ``SchedulerEvent``s to it (through
/// ``observer(model:)``); it is also an observer itself, for a scheduler
/// run on its own (tests, benchmarks).
public final class BackendMetrics: SchedulerObserver {
    /// Upper bounds of the time-to-first-token buckets, in seconds.
    static let latencyBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// How long a tokens-per-second window lasts, in seconds.
    static let rateWindow = 2.0

    /// What requests are counted by; ordered as their label text sorts.
    private struct RequestKey: Hashable, Comparable {
        let endpoint: String
        let status: Int
        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.endpoint, String(lhs.status)) < (rhs.endpoint, String(rhs.status))
        }
    }

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var promptTokens = 0
        var cachedPromptTokens = 0
        var generatedTokens = 0
        var firstTokenCounts = [Int](repeating: 0, count: BackendMetrics.latencyBuckets.count)
        var firstTokenSum = 0.0
        var firstTokenCount = 0
        /// Gauges per model (each model's scheduler reports its own), summed when read.
        var queueDepth: [String: Int] = [:]
        var activeSequences: [String: Int] = [:]
        var decodeSteps = 0
        var decodeStepSequences = 0
        var maximumBatch = 0
        var cancelled = 0
        var modelsLoaded = 0
        var loads: [String: Int] = [:]
        var unloads = 0
        var windowTokens = 0
        var windowSeconds = 0.0
        var tokensPerSecond = 0.0
    }

    private let state = Mutex(State())
    private let platform: EnginePlatform?

    /// Metrics that also report `platform` as `lmgate_backend_info`.
    public init(platform: EnginePlatform? = nil) {
        self.platform = platform
    }

    /// The endpoints requests are counted under by name. A label value comes
    /// from this fixed set, never from a client's path: each distinct value
    /// is a series Prometheus keeps, so a client must not be able to make
    /// new ones (and a path could break the exposition format).
    static let endpointLabels: Set<String> = [
        "/health", "/v1/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/messages",
        "/v1/messages/count_tokens", "/v1/responses", "/v1/embeddings", "/api/v1/models/load", "/api/v1/models/unload",
    ]

    /// Counts an answer; a path outside ``endpointLabels`` is counted as `other`.
    func requestAnswered(endpoint: String, status: Int) {
        let label = Self.endpointLabels.contains(endpoint) ? endpoint : "other"
        state.withLock { $0.requests[RequestKey(endpoint: label, status: status), default: 0] += 1 }
    }

    /// Counts one scheduler event of the model `model`.
    func record(_ event: SchedulerEvent, model: String) {
        state.withLock { state in
            switch event {
            case .queueDepth(let depth): state.queueDepth[model] = depth
            case .activeSequences(let count): state.activeSequences[model] = count
            case .promptStarted(let tokens, let cached):
                state.promptTokens += tokens
                state.cachedPromptTokens += cached
            case .firstToken(let seconds):
                if let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 }) { state.firstTokenCounts[bucket] += 1 }
                state.firstTokenSum += seconds
                state.firstTokenCount += 1
            case .decodeStep(let sequences, let seconds):
                state.decodeSteps += 1
                state.decodeStepSequences += sequences
                state.maximumBatch = max(state.maximumBatch, sequences)
                state.windowTokens += sequences
                state.windowSeconds += seconds
                if state.windowSeconds >= Self.rateWindow {
                    state.tokensPerSecond = Double(state.windowTokens) / state.windowSeconds
                    state.windowTokens = 0
                    state.windowSeconds = 0
                }
            case .tokensGenerated(let count): state.generatedTokens += count
            case .sequenceCancelled: state.cancelled += 1
            }
        }
    }

    /// The observer to hand model `model`'s scheduler: its events counted under its name.
    public func observer(model: String) -> any SchedulerObserver { ModelSchedulerObserver(metrics: self, model: model) }

    /// A model finished loading (`succeeded`) or failed to; `loaded` models are in memory now.
    func modelLoad(succeeded: Bool, loaded: Int) {
        state.withLock {
            $0.loads[succeeded ? "ok" : "failed", default: 0] += 1
            $0.modelsLoaded = loaded
        }
    }

    /// Model `model` left memory; `loaded` models are in memory now.
    func modelUnloaded(_ model: String, loaded: Int) {
        state.withLock {
            $0.unloads += 1
            $0.modelsLoaded = loaded
            $0.queueDepth[model] = nil
            $0.activeSequences[model] = nil
        }
    }

    public func record(_ event: SchedulerEvent) { record(event, model: "") }

    /// Sequences being generated now.
    public var activeSequences: Int { state.withLock { $0.activeSequences.values.reduce(0, +) } }
    /// The most sequences one decoding step has served so far.
    public var maximumBatch: Int { state.withLock { $0.maximumBatch } }

    /// The metrics in Prometheus text format (``PrometheusExposition``).
    public func render() -> String {
        let s = state.withLock { $0 }
        var text = PrometheusExposition()
        text.family("lmgate_backend_requests_total", type: .counter, help: "Requests answered, by endpoint and HTTP status.")
        for (key, count) in s.requests.sorted(by: { $0.key < $1.key }) {
            text.sample("lmgate_backend_requests_total", labels: [("endpoint", key.endpoint), ("status", String(key.status))], value: count)
        }
        text.single("lmgate_backend_prompt_tokens_total", type: .counter, help: "Prompt tokens of started generations.", value: s.promptTokens)
        text.single(
            "lmgate_backend_prompt_tokens_cached_total", type: .counter,
            help: "Prompt tokens taken from a kept KV cache (shared prefix).", value: s.cachedPromptTokens)
        text.single("lmgate_backend_generated_tokens_total", type: .counter, help: "Tokens generated.", value: s.generatedTokens)
        text.family(
            "lmgate_backend_generation_tokens_per_second", type: .gauge, help: "Aggregate decoding speed over the last window.")
        text.sample("lmgate_backend_generation_tokens_per_second", value: String(format: "%.3f", s.tokensPerSecond))
        text.family(
            "lmgate_backend_time_to_first_token_seconds", type: .histogram,
            help: "Time from submission to the first generated token.")
        text.histogram(
            "lmgate_backend_time_to_first_token_seconds", bounds: Self.latencyBuckets, counts: s.firstTokenCounts,
            sum: s.firstTokenSum, count: s.firstTokenCount)
        text.single(
            "lmgate_backend_queue_depth", type: .gauge, help: "Requests waiting for a free sequence slot.",
            value: s.queueDepth.values.reduce(0, +))
        text.single(
            "lmgate_backend_active_sequences", type: .gauge, help: "Sequences being generated now.",
            value: s.activeSequences.values.reduce(0, +))
        text.single("lmgate_backend_decode_steps_total", type: .counter, help: "Decoding steps run.", value: s.decodeSteps)
        text.single(
            "lmgate_backend_decode_step_sequences_total", type: .counter,
            help: "Sequences served by decoding steps, summed over steps.", value: s.decodeStepSequences)
        text.single(
            "lmgate_backend_decode_batch_size_max", type: .gauge, help: "The most sequences one decoding step has served.",
            value: s.maximumBatch)
        text.single(
            "lmgate_backend_requests_cancelled_total", type: .counter,
            help: "Generations stopped because the client went away.", value: s.cancelled)
        text.single("lmgate_backend_model_loaded", type: .gauge, help: "1 while a model is loaded.", value: s.modelsLoaded > 0 ? 1 : 0)
        text.single("lmgate_backend_models_loaded", type: .gauge, help: "Models in memory now.", value: s.modelsLoaded)
        text.family("lmgate_backend_model_loads_total", type: .counter, help: "Model loads, by result.")
        for result in ["ok", "failed"] {
            text.sample("lmgate_backend_model_loads_total", labels: [("result", result)], value: s.loads[result, default: 0])
        }
        text.single(
            "lmgate_backend_model_unloads_total", type: .counter, help: "Models unloaded (idle, evicted or asked to).",
            value: s.unloads)
        if let platform {
            text.family(
                "lmgate_backend_info", type: .gauge, help: "The CPU the engine computes on and the OpenBLAS core it runs.")
            text.sample(
                "lmgate_backend_info",
                labels: [
                    ("blas_core", platform.blasCore), ("blas_core_reason", platform.blasCoreReason.rawValue),
                    ("cpu", platform.cpuModel),
                ],
                value: 1)
        }
        return text.text
    }
}
