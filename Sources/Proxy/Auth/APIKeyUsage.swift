import Foundation
import NIOConcurrencyHelpers

/// When each API key was last used, kept beside the keys file in
/// `KEYSFILE.last-used` (one `NAME DATE` a line) for `lmgate keys list`.
///
/// A separate file so that the proxy never rewrites the keys file (which it
/// watches, and which an administrator may be editing). Uses are recorded in
/// memory and written at most every ``flushInterval``.
public final class APIKeyUsage: Sendable {
    public let path: String
    private let state = NIOLockedValueBox(State())

    private struct State {
        var lastUsed: [String: Date] = [:]
        var dirty = false
    }

    /// The usage file of the keys file at `keysPath`.
    public static func path(forKeysFile keysPath: String) -> String { keysPath + ".last-used" }

    public init(keysPath: String) {
        self.path = Self.path(forKeysFile: keysPath)
        let known = Self.read(self.path)
        self.state.withLockedValue { $0.lastUsed = known }
    }

    /// Records that key `name` was used now.
    func record(_ name: String, at now: Date = Date()) {
        self.state.withLockedValue { state in
            state.lastUsed[name] = now
            state.dirty = true
        }
    }

    /// Writes the file if anything changed since the last write.
    func flush() {
        let snapshot = self.state.withLockedValue { state -> [String: Date]? in
            guard state.dirty else { return nil }
            state.dirty = false
            return state.lastUsed
        }
        guard let snapshot else { return }
        let text = snapshot.sorted { $0.key < $1.key }.map { "\($0.key) \(APIKeyFile.text($0.value))\n" }.joined()
        let temporary = self.path + ".tmp-\(getpid())"
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) {
            if rename(temporary, self.path) != 0 { unlink(temporary) }
        }
    }

    /// Reads a usage file; a missing or damaged one is empty (it is only informative).
    public static func read(_ path: String) -> [String: Date] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: Date] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let date = APIKeyFile.date(fields[1]) { result[String(fields[0])] = date }
        }
        return result
    }
}
