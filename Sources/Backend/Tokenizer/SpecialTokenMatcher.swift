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
    }

    /// Splits `text` into plain-text fragments and special tokens.
    func fragments(of text: [UInt8], parseSpecial: Bool) -> [Fragment] {
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
                self.split(range, of: text, by: candidate, starts: starts, into: &split)
            }
            fragments = split
        }
        return fragments
    }

    private func split(
        _ range: Range<Int>, of text: [UInt8], by candidate: Candidate, starts: [Int], into output: inout [Fragment]
    ) {
        var rest = range
        var startIndex = Self.firstIndex(in: starts, notBelow: range.lowerBound)
        while startIndex < starts.count, starts[startIndex] + candidate.bytes.count <= rest.upperBound {
            let match = starts[startIndex]
            startIndex += 1
            guard match >= rest.lowerBound, text[match..<match + candidate.bytes.count].elementsEqual(candidate.bytes)
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
