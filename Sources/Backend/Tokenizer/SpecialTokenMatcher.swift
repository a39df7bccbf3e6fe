/// Finds special tokens written out in the input text, before the rest of
/// the text is tokenized, as llama.cpp does.
///
/// Control and unknown tokens are matched only when special-token parsing is
/// on (text from a user must not be able to write `<|im_end|>`); user-defined
/// tokens are always matched, as in Hugging Face tokenizers. Longer tokens are
/// matched first, so `<|end_of_text|>` wins over a shorter token inside it.
struct SpecialTokenMatcher: Sendable {
    /// A piece of the input: plain text (a byte range), or one special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    private struct Candidate: Sendable {
        var id: Int
        var bytes: [UInt8]
        var onlyWhenParsingSpecial: Bool
        var stripsBefore: Bool
        var stripsAfter: Bool
    }

    private let candidates: [Candidate]
    /// The texts of the candidates matched only when parsing special tokens,
    /// for finding them in a request's text in time linear in its length.
    private let controlTokens: ByteTrie
    /// Whether some candidate starts with this byte: positions in the text
    /// where none does are never compared.
    private let isFirstByte: [Bool]

    init(vocabulary: TokenizerVocabulary) {
        var candidates: [Candidate] = []
        for (id, text) in vocabulary.tokens.enumerated() {
            let type = vocabulary.type(of: id)
            guard type.isMatchedInText, !text.isEmpty else { continue }
            candidates.append(
                Candidate(
                    id: id, bytes: Array(text.utf8), onlyWhenParsingSpecial: type != .userDefined,
                    stripsBefore: vocabulary.stripsWhitespaceBefore.contains(id),
                    stripsAfter: vocabulary.stripsWhitespaceAfter.contains(id)))
        }
        // Longest first; among equals, the lower id (a stable order).
        candidates.sort { ($0.bytes.count, -$0.id) > ($1.bytes.count, -$1.id) }
        var isFirstByte = [Bool](repeating: false, count: 256)
        for candidate in candidates { isFirstByte[Int(candidate.bytes[0])] = true }
        self.candidates = candidates
        self.isFirstByte = isFirstByte
        controlTokens = ByteTrie(candidates.lazy.filter(\.onlyWhenParsingSpecial).map(\.bytes))
    }

    /// Splits `text` into plain-text fragments and special tokens.
    ///
    /// - Parameter protected: sorted, disjoint byte ranges of `text` where no
    ///   control token is matched even when `parseSpecial` is on (text a
    ///   request wrote, see ``RequestTextMarking``); user-defined tokens are
    ///   matched there as anywhere, as with `parseSpecial` off.
    func fragments(of text: [UInt8], parseSpecial: Bool, protected: [Range<Int>] = []) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        let starts = text.indices.filter { isFirstByte[Int(text[$0])] }
        guard !starts.isEmpty else { return fragments }
        for candidate in candidates where parseSpecial || !candidate.onlyWhenParsingSpecial {
            var split: [Fragment] = []
            split.reserveCapacity(fragments.count + 2)
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    split.append(fragment)
                    continue
                }
                self.split(
                    range, of: text, by: candidate, starts: starts,
                    protected: candidate.onlyWhenParsingSpecial ? protected : [], into: &split)
            }
            fragments = split
        }
        return fragments
    }

    private func split(
        _ range: Range<Int>, of text: [UInt8], by candidate: Candidate, starts: [Int], protected: [Range<Int>],
        into output: inout [Fragment]
    ) {
        var rest = range
        var startIndex = Self.firstIndex(in: starts, notBelow: range.lowerBound)
        while startIndex < starts.count, starts[startIndex] + candidate.bytes.count <= rest.upperBound {
            let match = starts[startIndex]
            startIndex += 1
            guard match >= rest.lowerBound, text[match..<match + candidate.bytes.count].elementsEqual(candidate.bytes),
                !Self.overlaps(match..<match + candidate.bytes.count, protected)
            else { continue }
            var before = rest.lowerBound..<match
            if candidate.stripsBefore {
                while !before.isEmpty && Self.isSpace(text[before.upperBound - 1]) {
                    before = before.lowerBound..<before.upperBound - 1
                }
            }
            if !before.isEmpty { output.append(.text(before)) }
            output.append(.token(candidate.id))
            rest = match + candidate.bytes.count..<rest.upperBound
            if candidate.stripsAfter {
                while !rest.isEmpty && Self.isSpace(text[rest.lowerBound]) {
                    rest = rest.lowerBound + 1..<rest.upperBound
                }
            }
        }
        if !rest.isEmpty { output.append(.text(rest)) }
    }

    /// The byte ranges of `text` where some control (or unknown) token's
    /// text occurs, overlapping occurrences merged: what a request's text
    /// must not be allowed to turn into control tokens.
    func controlTokenRanges(in text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for start in text.indices where isFirstByte[Int(text[start])] {
            guard let end = controlTokens.longestMatch(in: text, from: start) else { continue }
            if let last = ranges.last, last.upperBound >= start {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                ranges.append(start..<end)
            }
        }
        return ranges
    }

    /// Whether `range` overlaps one of the sorted, disjoint `ranges`.
    private static func overlaps(_ range: Range<Int>, _ ranges: [Range<Int>]) -> Bool {
        guard !ranges.isEmpty else { return false }
        var low = 0
        var high = ranges.count
        // The first range that ends after `range` starts.
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound <= range.lowerBound { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].lowerBound < range.upperBound
    }

    /// C's `isspace`, which llama.cpp uses for stripping around special tokens.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    private static func firstIndex(in sorted: [Int], notBelow value: Int) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
