/// The lines of the small line-based files the proxy reads (the keys file,
/// the users' limits, the allowlist file): one rule a line, its fields
/// separated by spaces or tabs, blank lines and `#` comments skipped.
///
/// Lines end at any line break, `\r\n` included: Swift keeps `\r\n` as one
/// `Character`, so splitting at `"\n"` alone read a file saved with Windows
/// line ends as one long line.
enum LineFileRules {
    /// One rule: its line number (from 1) and its fields.
    struct Rule {
        let line: Int
        let fields: [Substring]
    }

    /// The rules of `text`, in order.
    static func rules(of text: String) -> [Rule] {
        var rules: [Rule] = []
        for (index, line) in Self.lines(of: text).enumerated() {
            guard let fields = Self.fields(of: line) else { continue }
            rules.append(Rule(line: index + 1, fields: fields))
        }
        return rules
    }

    /// The lines of `text`, without their line breaks; text that ends in a
    /// line break ends in an empty line.
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// The fields of one line; `nil` for a blank line or a comment.
    static func fields(of line: Substring) -> [Substring]? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        return fields
    }
}
