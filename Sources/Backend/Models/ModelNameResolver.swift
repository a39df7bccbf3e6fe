/// Turns the `model` a client sends into the id of a model this server has.
///
/// In order: an id (any case, with or without `.gguf`); an alias
/// (`models.aliases`, `--alias NAME=ID`, for clients with fixed names such as
/// `gpt-4o-mini`); with only one model, any name at all, as llama-server
/// does (the response names the real model). Anything else is a 404
/// `model_not_found` listing the ids.
public struct ModelNameResolver: Sendable, Equatable {
    /// The ids served, sorted.
    public let ids: [String]
    /// Alias names (lowercased) to ids.
    private let aliases: [String: String]

    /// - Throws: ``ModelFolderError`` when an alias names no model, or
    ///   shadows a model's id (a client could no longer reach that model).
    public init(ids: [String], aliases: [String: String]) throws(ModelFolderError) {
        self.ids = ids.sorted()
        var lowered: [String: String] = [:]
        for (alias, target) in aliases.sorted(by: { $0.key < $1.key }) {
            guard let id = Self.match(target, in: ids) else {
                throw ModelFolderError("the alias '\(alias)' names '\(target)', which is not a model here (models: \(Self.list(ids)))")
            }
            if let shadowed = Self.match(alias, in: ids), shadowed != id {
                throw ModelFolderError("the alias '\(alias)' is also the id of the model '\(shadowed)'")
            }
            lowered[alias.lowercased()] = id
        }
        self.aliases = lowered
    }

    /// The id `name` resolves to.
    public func resolve(_ name: String) throws(APIError) -> String {
        if let id = Self.match(name, in: ids) { return id }
        if let id = aliases[name.lowercased()] { return id }
        if ids.count == 1 { return ids[0] }
        throw APIError(
            status: .notFound,
            // The name is echoed (JSON escapes it) but cut short: a client's megabyte-long name is not repeated back.
            message: "the model '\(name.prefix(200))' does not exist; available models: \(Self.list(ids))",
            type: "not_found_error", parameter: "model", code: "model_not_found")
    }

    /// The id that `name` is, ignoring case and a `.gguf` suffix.
    static func match(_ name: String, in ids: [String]) -> String? {
        let lowered = name.lowercased()
        let bare = lowered.hasSuffix(".gguf") ? String(lowered.dropLast(5)) : lowered
        return ids.first { $0.lowercased() == bare } ?? ids.first { $0.lowercased() == lowered }
    }

    /// The ids for a message, the first 50 of them.
    static func list(_ ids: [String]) -> String {
        let shown = ids.prefix(50).map { "'\($0)'" }.joined(separator: ", ")
        return ids.count > 50 ? shown + " and \(ids.count - 50) more" : shown
    }
}
