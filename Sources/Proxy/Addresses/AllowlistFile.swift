import Foundation
import HtpasswdKit

/// Source ranges kept in a file of their own (`access.allowlist_file`), so
/// the admin console can change them without rewriting the YAML
/// configuration: one rule a line, as nginx writes them,
///
/// ```
/// # lmgate source allowlist
/// allow 192.168.1.0/24
/// deny 192.168.1.13
/// ```
///
/// Its ranges are added to the configuration's `access.allow` and
/// `access.deny` (``AccessPolicy``). A line that does not parse makes the
/// whole file invalid, so a reload keeps the allowlist in force rather than
/// run with a rule silently missing (a lost `deny` would open the proxy).
public struct AllowlistFile: Sendable, Equatable {
    public var allow: [CIDRRange]
    public var deny: [CIDRRange]

    /// Why a file or a form could not be read.
    public struct Problem: Error, Equatable, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(allow: [CIDRRange] = [], deny: [CIDRRange] = []) {
        self.allow = allow
        self.deny = deny
    }

    /// Parses the text of an allowlist file.
    public init(text: String) throws(Problem) {
        self.init()
        for rule in LineFileRules.rules(of: text) {
            let fields = rule.fields
            guard fields.count == 2, fields[0] == "allow" || fields[0] == "deny" else {
                throw Problem(description: "line \(rule.line): expected 'allow RANGE' or 'deny RANGE'")
            }
            let range = try Self.range(fields[1], at: "line \(rule.line)")
            if fields[0] == "allow" { self.allow.append(range) } else { self.deny.append(range) }
        }
    }

    /// Reads and parses the file at `path`; a file that does not exist yet is empty.
    public static func loadOrEmpty(path: String) throws(Problem) -> AllowlistFile {
        guard FileManager.default.fileExists(atPath: path) else { return AllowlistFile() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(description: "cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try AllowlistFile(text: text)
        } catch {
            throw Problem(description: "\(path): \(error.description)")
        }
    }

    /// Ranges separated by white space, commas or line breaks (a form's
    /// text area); `what` names the list in an error.
    public static func ranges(listedIn text: String, what: String) throws(Problem) -> [CIDRRange] {
        var ranges: [CIDRRange] = []
        for item in text.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            ranges.append(try Self.range(item, at: what))
        }
        return ranges
    }

    private static func range(_ text: Substring, at place: String) throws(Problem) -> CIDRRange {
        guard let range = CIDRRange(String(text)) else {
            throw Problem(description: "\(place): '\(LogField.escaped(String(text), limit: 64))' is not an address or CIDR range")
        }
        return range
    }

    /// The file's text: a comment line, then the allow rules, then the deny rules.
    public func serialized() -> String {
        var text = "# lmgate source allowlist (access.allowlist_file): allow RANGE / deny RANGE, one a line\n"
        for range in self.allow { text += "allow \(range)\n" }
        for range in self.deny { text += "deny \(range)\n" }
        return text
    }

    /// Writes the file atomically (readers see the old or the new file).
    public func write(to path: String) throws(Problem) {
        do {
            try AtomicFileWriter.replaceContents(of: path, with: Array(self.serialized().utf8))
        } catch {
            throw Problem(description: error.message)
        }
    }
}
