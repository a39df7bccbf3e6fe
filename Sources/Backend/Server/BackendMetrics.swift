import Foundation
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

    private struct State {
        var requests: [String: Int] = [:]
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
        state.withLock { $0.requests["endpoint=\"\(label)\",status=\"\(status)\"", default: 0] += 1 }
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

    /// The metrics in Prometheus text format.
    public func render() -> String {
        let s = state.withLock { $0 }
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples {
                text += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n"
            }
        }
        metric(
            "lmgate_backend_requests_total", "counter", "Requests answered, by endpoint and HTTP status.",
            s.requests.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") })
        metric("lmgate_backend_prompt_tokens_total", "counter", "Prompt tokens of started generations.", [("", "\(s.promptTokens)")])
        metric(
            "lmgate_backend_prompt_tokens_cached_total", "counter", "Prompt tokens taken from a kept KV cache (shared prefix).",
            [("", "\(s.cachedPromptTokens)")])
        metric("lmgate_backend_generated_tokens_total", "counter", "Tokens generated.", [("", "\(s.generatedTokens)")])
        metric(
            "lmgate_backend_generation_tokens_per_second", "gauge", "Aggregate decoding speed over the last window.",
            [("", String(format: "%.3f", s.tokensPerSecond))])
        text += "# HELP lmgate_backend_time_to_first_token_seconds Time from submission to the first generated token.\n"
        text += "# TYPE lmgate_backend_time_to_first_token_seconds histogram\n"
        var cumulative = 0
        for (index, bound) in Self.latencyBuckets.enumerated() {
            cumulative += s.firstTokenCounts[index]
            text += "lmgate_backend_time_to_first_token_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "lmgate_backend_time_to_first_token_seconds_bucket{le=\"+Inf\"} \(s.firstTokenCount)\n"
        text += "lmgate_backend_time_to_first_token_seconds_sum \(s.firstTokenSum)\n"
        text += "lmgate_backend_time_to_first_token_seconds_count \(s.firstTokenCount)\n"
        metric("lmgate_backend_queue_depth", "gauge", "Requests waiting for a free sequence slot.", [("", "\(s.queueDepth.values.reduce(0, +))")])
        metric("lmgate_backend_active_sequences", "gauge", "Sequences being generated now.", [("", "\(s.activeSequences.values.reduce(0, +))")])
        metric("lmgate_backend_decode_steps_total", "counter", "Decoding steps run.", [("", "\(s.decodeSteps)")])
        metric(
            "lmgate_backend_decode_step_sequences_total", "counter", "Sequences served by decoding steps, summed over steps.",
            [("", "\(s.decodeStepSequences)")])
        metric(
            "lmgate_backend_decode_batch_size_max", "gauge", "The most sequences one decoding step has served.",
            [("", "\(s.maximumBatch)")])
        metric(
            "lmgate_backend_requests_cancelled_total", "counter", "Generations stopped because the client went away.",
            [("", "\(s.cancelled)")])
        metric("lmgate_backend_model_loaded", "gauge", "1 while a model is loaded.", [("", s.modelsLoaded > 0 ? "1" : "0")])
        metric("lmgate_backend_models_loaded", "gauge", "Models in memory now.", [("", "\(s.modelsLoaded)")])
        metric(
            "lmgate_backend_model_loads_total", "counter", "Model loads, by result.",
            ["ok", "failed"].map { ("result=\"\($0)\"", "\(s.loads[$0, default: 0])") })
        metric("lmgate_backend_model_unloads_total", "counter", "Models unloaded (idle, evicted or asked to).", [("", "\(s.unloads)")])
        if let platform {
            let labels = [
                ("blas_core", platform.blasCore), ("blas_core_reason", platform.blasCoreReason.rawValue), ("cpu", platform.cpuModel),
            ].map { "\($0.0)=\"\(Self.labelValue($0.1))\"" }
            metric(
                "lmgate_backend_info", "gauge", "The CPU the engine computes on and the OpenBLAS core it runs.",
                [(labels.joined(separator: ","), "1")])
        }
        return text
    }

    /// A label value escaped as the exposition format wants (backslash, quote, newline).
    static func labelValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
