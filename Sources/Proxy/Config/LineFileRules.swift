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
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            rules.append(Rule(line: index + 1, fields: fields))
        }
        return rules
    }
}
