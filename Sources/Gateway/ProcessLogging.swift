import Logging

/// The one logging set-up of the `lmgate` commands: swift-log's stream
/// handler at `info`, on standard error or (for `lmgate proxy`, whose
/// access log is its output) standard output. Bootstrap once per process.
public enum ProcessLogging {
    public enum Stream: Sendable {
        case standardError
        case standardOutput
    }

    /// Sends every logger of the process to `stream` at `info` and above.
    public static func bootstrap(to stream: Stream = .standardError) {
        LoggingSystem.bootstrap { label in
            var handler =
                switch stream {
                case .standardError: StreamLogHandler.standardError(label: label)
                case .standardOutput: StreamLogHandler.standardOutput(label: label)
                }
            handler.logLevel = .info
            return handler
        }
    }
}
