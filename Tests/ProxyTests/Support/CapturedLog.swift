import Logging
import NIOConcurrencyHelpers

/// A `Logger` whose lines are kept for a test to read, rendered as
/// swift-log's `StreamLogHandler` renders them (metadata as `key=value`, as
/// given), so that a test sees what an operator's log file would hold.
final class CapturedLog: Sendable {
    private let lines = NIOLockedValueBox<[(line: String, metadata: [String: String])]>([])

    /// Everything logged so far, as one text (lines end in `\n`).
    var text: String { self.lines.withLockedValue { $0.map(\.line).joined() } }

    /// Each entry's metadata (the logger's and the event's), values as text.
    var entries: [[String: String]] { self.lines.withLockedValue { $0.map(\.metadata) } }

    /// A logger writing here, at `level` and above.
    func logger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "test.captured") { label in Handler(label: label, log: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: String, metadata: [String: String]) {
        self.lines.withLockedValue { $0.append((line, metadata)) }
    }

    private struct Handler: LogHandler {
        let label: String
        let log: CapturedLog
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            self.log.append(
                "\(event.level) \(self.label): [\(rendered)] \(event.message)\n", metadata: merged.mapValues { "\($0)" })
        }
    }
}
