import Foundation

/// The default model `scripts/setup` installs (SmolLM2-135M-Instruct, Q4_1),
/// found in this repository's `models/` folder. Too large for git; CI runs
/// `scripts/setup` before the tests, so its absence is a failure that says so.
enum InstalledDefaultModel {
    static var path: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    /// ``path``, or an error asking for `scripts/setup` when the model is not there.
    static func require() throws -> String {
        guard FileManager.default.isReadableFile(atPath: path) else { throw NotInstalled(path: path) }
        return path
    }

    struct NotInstalled: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is missing: run scripts/setup, which installs it" }
    }
}
