/// A configuration that cannot be used, with every problem found in it.
///
/// An error struct over a private enum (as in swift-certificates) so that new
/// kinds of problems can be added without breaking callers.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Kind: Sendable, Equatable {
        case invalidValue
        case unknownSetting
        case unreadableFile
        case invalidConfiguration
    }

    private let kind: Kind

    /// What is wrong, in words for the person who wrote the configuration.
    public let message: String

    private init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { self.message }

    /// A setting whose value cannot be parsed.
    public static func invalidValue(setting: String, source: String, _ problem: String) -> Self {
        Self(.invalidValue, "\(setting) (from \(source)): \(problem)")
    }

    /// A setting name that lmgate does not know.
    public static func unknownSetting(_ setting: String, source: String) -> Self {
        Self(.unknownSetting, "unknown setting '\(setting)' (from \(source))")
    }

    /// A configuration file that cannot be read or parsed.
    static func unreadableFile(_ path: String, _ problem: String) -> Self {
        Self(.unreadableFile, "cannot read configuration file \(path): \(problem)")
    }

    /// Settings that parse one by one but do not work together.
    static func invalidConfiguration(_ problems: [String]) -> Self {
        Self(.invalidConfiguration, problems.joined(separator: "\n"))
    }
}
