/// One entry of an identity's allowed models: a model name, or a glob in
/// which `*` stands for any run of characters and `?` for one character
/// (`qwen3-*`, `local-model`).
///
/// Matching is case-sensitive on purpose: it fails closed. An upstream that
/// compares names without case would only be refused a request it could
/// have served, never given one the policy did not allow.
public struct ModelPattern: Sendable, Equatable, CustomStringConvertible {
    /// The pattern as written.
    public let text: String

    /// A pattern from its text; `nil` when empty or holding characters a
    /// keys-file field cannot carry (whitespace, `,`, control characters).
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 256,
            text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != "," })
        else { return nil }
        self.text = text
    }

    public var description: String { self.text }

    /// Whether `model` matches the pattern.
    public func matches(_ model: String) -> Bool {
        Self.glob(Array(self.text.unicodeScalars)[...], Array(model.unicodeScalars)[...])
    }

    /// Iterative glob matching with one backtracking point (the last `*`),
    /// linear in practice and never exponential.
    private static func glob(_ pattern: ArraySlice<Unicode.Scalar>, _ text: ArraySlice<Unicode.Scalar>) -> Bool {
        var (p, t) = (pattern.startIndex, text.startIndex)
        var star: (pattern: Int, text: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == "*" {
                star = (p, t)
                p += 1
            } else if p < pattern.endIndex, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let last = star {
                p = last.pattern + 1
                t = last.text + 1
                star = (last.pattern, last.text + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == "*" { p += 1 }
        return p == pattern.endIndex
    }
}
