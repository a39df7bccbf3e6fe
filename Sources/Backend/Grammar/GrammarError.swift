/// Why a schema could not be compiled to a grammar: a feature this engine
/// does not enforce, a schema that no value satisfies, or one past the
/// work limits. The message names the feature and where in the schema it is,
/// so the API can answer with a precise 400.
public struct GrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The schema keyword or feature at fault (`pattern`, `$ref`, `maxItems`, …).
    public let feature: String
    /// Where in the schema, as a JSON pointer from the schema's root (`#/properties/name`).
    public let path: String
    /// A sentence saying what is wrong.
    public let message: String

    init(_ feature: String, at path: String, _ message: String) {
        self.feature = feature
        self.path = path
        self.message = message
    }

    public var description: String { "\(message) (\(feature) at \(path))" }
}
