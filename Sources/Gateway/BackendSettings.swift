import Proxy

/// The `backend:` and `models:` sections of `lmgate serve`'s configuration:
/// which models the supervised backend serves and how.
///
/// ```yaml
/// backend:
///   models_dir: ~/models      # every *.gguf below it, loaded on first request
///   idle_ttl: 15m             # unload a model idle this long (absent: keep)
///   max_loaded: 2             # models in memory at once
///   max_memory: 12g           # their file sizes plus KV caches
/// models:
///   aliases: {gpt-4o-mini: qwen/qwen3-4b/Qwen3-4B-Q4_K_M}
///   pinned: [qwen/qwen3-4b/Qwen3-4B-Q4_K_M]     # never unloaded
///   idle_ttl: {big/model: 2m}                   # per-model TTL
/// ```
public struct BackendSettings: Sendable, Equatable {
    /// The top-level sections this type reads (the proxy's loader skips them).
    public static let sections: Set<String> = ["backend", "models"]

    /// The GGUF model file; `nil` until given by the file or `--model`.
    public var model: String?
    /// A folder of GGUF models served on demand (`backend.models_dir`).
    public var modelsDirectory: String?
    /// The loopback port the backend listens on (LM Studio's by default).
    public var port = 1234
    /// Threads the model computes on; all cores when `nil`.
    public var threads: Int?
    /// Requests generated at once.
    public var parallel: Int?
    /// Seconds an idle model stays loaded; `nil` to keep it.
    public var idleTTL: Double?
    /// The most models loaded at once.
    public var maxLoaded: Int?
    /// The most bytes the loaded models may take.
    public var maxMemory: Int?
    /// Names for clients with fixed names (alias → model id).
    public var aliases: [String: String] = [:]
    /// Models never unloaded.
    public var pinned: [String] = []
    /// Per-model idle TTLs in seconds, by model id.
    public var modelTTLs: [String: Double] = [:]

    public init() {}

    /// Reads the `backend.*` and `models.*` settings of a configuration file;
    /// any other key of these sections, or a bad value, is an error naming it.
    public init(file: String) throws(ConfigurationError) {
        self.init()
        for (key, values) in try ProxyConfigurationLoader.rawSettings(ofFile: file)
        where key.hasPrefix("backend.") || key.hasPrefix("models.") {
            let value = values.first ?? ""
            func count(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
                guard let number = Int(value), range.contains(number) else {
                    throw .invalidValue(setting: key, source: file, "expected a whole number in \(range)")
                }
                return number
            }
            func seconds() throws(ConfigurationError) -> Double {
                guard let duration = SettingValueParsing.duration(value), duration > .zero else {
                    throw .invalidValue(setting: key, source: file, "expected a duration above zero such as 30s, 15m or 1h")
                }
                return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            switch key {
            case "backend.model": self.model = value
            case "backend.models_dir": self.modelsDirectory = value
            case "backend.port": self.port = try count(1...65535)
            case "backend.threads": self.threads = try count(1...1024)
            case "backend.parallel": self.parallel = try count(1...256)
            case "backend.idle_ttl": self.idleTTL = try seconds()
            case "backend.max_loaded": self.maxLoaded = try count(1...1024)
            case "backend.max_memory":
                guard let bytes = SettingValueParsing.byteCount(value), bytes > 0 else {
                    throw .invalidValue(setting: key, source: file, "expected a size such as 8g or 512m")
                }
                self.maxMemory = bytes
            case "models.pinned": self.pinned = values
            case let key where key.hasPrefix("models.aliases."):
                self.aliases[String(key.dropFirst("models.aliases.".count))] = value
            case let key where key.hasPrefix("models.idle_ttl."):
                self.modelTTLs[String(key.dropFirst("models.idle_ttl.".count))] = try seconds()
            default: throw .unknownSetting(key, source: file)
            }
        }
        if model != nil && modelsDirectory != nil {
            throw .invalidValue(setting: "backend.models_dir", source: file, "give either backend.model or backend.models_dir, not both")
        }
    }

    /// The arguments of `lmgate backend` for these settings.
    public var backendArguments: [String] {
        var arguments = ["backend", "--host", "127.0.0.1", "--port", String(self.port), "--exit-with-parent"]
        if let model { arguments += ["--model", model] }
        if let modelsDirectory { arguments += ["--models-dir", modelsDirectory] }
        if let threads { arguments += ["--threads", String(threads)] }
        if let parallel { arguments += ["--parallel", String(parallel)] }
        if let idleTTL { arguments += ["--idle-ttl", "\(idleTTL)s"] }
        if let maxLoaded { arguments += ["--max-loaded", String(maxLoaded)] }
        if let maxMemory { arguments += ["--max-memory", String(maxMemory)] }
        for (alias, id) in aliases.sorted(by: { $0.key < $1.key }) { arguments += ["--alias", "\(alias)=\(id)"] }
        for id in pinned { arguments += ["--pin", id] }
        for (id, ttl) in modelTTLs.sorted(by: { $0.key < $1.key }) { arguments += ["--model-ttl", "\(id)=\(ttl)s"] }
        return arguments
    }
}
