import HeapModule

/// Byte-level BPE as llama.cpp runs it: split the text into words with the
/// ``PreTokenizer``, and within each word start from one symbol per byte and
/// repeatedly apply the lowest-ranked merge among adjacent symbols.
///
/// Symbols are token ids and merges a table from a pair of ids to the rank
/// and the merged id, so a merge step hashes two integers rather than strings.
/// (A merge whose parts or result are not tokens is left out: in a well-formed
/// vocabulary every merge makes a token.)
struct BytePairEncoder: Sendable {
    private let tokens: ByteStringTable
    private let preTokenizer: PreTokenizer
    private let ignoreMerges: Bool
    /// `left << 32 | right` → `rank << 32 | merged`.
    private let merges: [UInt64: UInt64]
    /// The token of the character each byte is written as, or -1.
    private let byteTokens: [Int]

    init(vocabulary: TokenizerVocabulary, tokens: ByteStringTable) {
        self.tokens = tokens
        self.preTokenizer = PreTokenizer(kind: vocabulary.preTokenizer)
        self.ignoreMerges = vocabulary.ignoreMerges
        self.byteTokens = ByteLevelEncoding.encodedByte.map { tokens.index(of: $0) ?? -1 }
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(vocabulary.merges.count)
        for (rank, merge) in vocabulary.merges.enumerated() {
            let bytes = Array(merge.utf8)
            // The separator is the first space after the first byte (a part may itself be a space).
            guard bytes.count >= 3, let separator = bytes[1...].firstIndex(of: UInt8(ascii: " ")),
                let left = tokens.index(of: bytes[..<separator]),
                let right = tokens.index(of: bytes[(separator + 1)...]),
                let merged = tokens.index(of: bytes[..<separator] + bytes[(separator + 1)...])
            else { continue }
            let key = UInt64(left) << 32 | UInt64(right)
            if merges[key] == nil {  // the first (best) rank of a pair counts
                merges[key] = UInt64(rank) << 32 | UInt64(merged)
            }
        }
        self.merges = merges
    }

    /// One candidate merge; `leftToken` and `rightToken` tell a stale candidate
    /// (a side has been merged since) from a current one.
    private struct Candidate: Comparable {
        /// `rank << 32 | left`: lowest rank first, then leftmost.
        var order: UInt64
        var right: Int
        var leftToken: Int
        var rightToken: Int
        var merged: Int

        static func < (a: Candidate, b: Candidate) -> Bool { a.order < b.order }
    }

    private struct Symbol {
        var token: Int
        var previous: Int
        var next: Int
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int]) {
        var symbols: [Symbol] = []
        var queue = Heap<Candidate>()
        var encodedWord: [UInt8] = []
        for word in preTokenizer.split(text) where !word.isEmpty {
            if ignoreMerges {
                encodedWord.removeAll(keepingCapacity: true)
                for byte in text[word] { encodedWord.append(contentsOf: ByteLevelEncoding.encodedByte[Int(byte)]) }
                if let id = tokens.index(of: encodedWord) {
                    output.append(id)
                    continue
                }
            }
            symbols.removeAll(keepingCapacity: true)
            // The queue is empty here: the merge loop below drains it for every word.
            for (index, byte) in text[word].enumerated() {
                symbols.append(Symbol(token: byteTokens[Int(byte)], previous: index - 1, next: index + 1))
            }
            symbols[symbols.count - 1].next = -1

            func consider(_ left: Int, _ right: Int) {
                guard left >= 0, right >= 0 else { return }
                let leftToken = symbols[left].token
                let rightToken = symbols[right].token
                guard leftToken >= 0, rightToken >= 0,
                    let merge = merges[UInt64(leftToken) << 32 | UInt64(rightToken)]
                else { return }
                queue.insert(
                    Candidate(
                        order: (merge >> 32) << 32 | UInt64(left), right: right,
                        leftToken: leftToken, rightToken: rightToken, merged: Int(merge & 0xFFFF_FFFF)))
            }
            for index in 1..<symbols.count { consider(index - 1, index) }

            while let candidate = queue.popMin() {
                let left = Int(candidate.order & 0xFFFF_FFFF)
                let right = candidate.right
                guard symbols[left].token == candidate.leftToken, symbols[right].token == candidate.rightToken,
                    symbols[left].next == right
                else { continue }
                symbols[left].token = candidate.merged
                symbols[right].token = -2  // merged away
                symbols[left].next = symbols[right].next
                if symbols[right].next >= 0 { symbols[symbols[right].next].previous = left }
                consider(symbols[left].previous, left)
                consider(left, symbols[left].next)
            }

            var index = 0
            while index >= 0 {
                // A byte whose character is not in the vocabulary yields
                // nothing, as in llama.cpp (byte-level vocabularies have all 256).
                if symbols[index].token >= 0 { output.append(symbols[index].token) }
                index = symbols[index].next
            }
        }
    }
}
