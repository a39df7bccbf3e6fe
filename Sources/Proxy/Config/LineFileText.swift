/// The text of a line-based file (``LineFileRules``) changed one rule at a
/// time, by the rule's first field (a user's name), with every other line —
/// comments, blank lines, the other rules — kept as it was, so an admin's
/// notes in a file the console edits survive the edit.
///
/// Lines are written back with the file's own line break (`\r\n` when the
/// file has one, else `\n`).
struct LineFileText {
    private var lines: [Substring]
    private let lineBreak: String

    init(_ text: String) {
        self.lines = LineFileRules.lines(of: text)
        self.lineBreak = text.contains("\r\n") ? "\r\n" : "\n"
    }

    /// Replaces the rule whose first field is `name` with `line`, or removes
    /// it when `line` is `nil`; a rule not there yet is added at the end.
    mutating func setRule(named name: String, to line: String?) {
        if let index = self.index(ofRuleNamed: name) {
            if let line { self.lines[index] = Substring(line) } else { self.lines.remove(at: index) }
            return
        }
        guard let line else { return }
        // Before the empty "line" a final line break leaves, so the file still ends in one.
        if self.lines.last?.isEmpty == true {
            self.lines.insert(Substring(line), at: self.lines.count - 1)
        } else {
            self.lines.append(Substring(line))
            self.lines.append("")
        }
    }

    /// The file's text.
    var text: String {
        self.lines.joined(separator: self.lineBreak)
    }

    private func index(ofRuleNamed name: String) -> Int? {
        self.lines.firstIndex { LineFileRules.fields(of: $0)?.first == Substring(name) }
    }
}
