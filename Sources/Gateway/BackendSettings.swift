import Proxy

/// The `backend:` section of `lmgate serve`'s configuration: which model the
/// supervised backend serves and how.
public struct BackendSettings: Sendable, Equatable {
    /// The GGUF model file; `nil` until given by the file or `--model`.
    public var model: String?
    /// The loopback port the backend listens on (LM Studio's by default).
    public var port = 1234
    /// Threads the model computes on; all cores when `nil`.
    public var threads: Int?
    /// Requests generated at once.
    public var parallel: Int?

    public init() {}

    /// Reads the `backend.*` settings of a configuration file; any other
    /// `backend.` key, or a bad value, is an error naming it.
    public init(file: String) throws(ConfigurationError) {
        self.init()
        for (key, values) in try ProxyConfigurationLoader.rawSettings(ofFile: file) where key.hasPrefix("backend.") {
            let value = values.first ?? ""
            func count(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
                guard let number = Int(value), range.contains(number) else {
                    throw .invalidValue(setting: key, source: file, "expected a whole number in \(range)")
                }
                return number
            }
            switch key {
            case "backend.model": self.model = value
            case "backend.port": self.port = try count(1...65535)
            case "backend.threads": self.threads = try count(1...1024)
            case "backend.parallel": self.parallel = try count(1...256)
            default: throw .unknownSetting(key, source: file)
            }
        }
    }

    /// The arguments of `lmgate backend` for these settings.
    public var backendArguments: [String] {
        var arguments = ["backend", "--host", "127.0.0.1", "--port", String(self.port), "--exit-with-parent"]
        if let model { arguments += ["--model", model] }
        if let threads { arguments += ["--threads", String(threads)] }
        if let parallel { arguments += ["--parallel", String(parallel)] }
        return arguments
    }
}
