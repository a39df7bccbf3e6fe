import HeapModule

/// SentencePiece's BPE-style encoding, as llama.cpp runs it: start from the
/// UTF-8 characters, repeatedly join the adjacent pair whose joined text is
/// the highest-scoring token, and spell whatever is left uncovered with
/// `<0xNN>` byte tokens.
///
/// The text arrives with spaces already written as `▁`.
struct SentencePieceEncoder: Sendable {
    private let tokens: ByteStringTable
    private let scores: [Float]
    /// The token for each byte value: `<0xNN>`, else the one-byte string, else unknown.
    private let byteTokens: [Int?]

    init(vocabulary: TokenizerVocabulary, tokens: ByteStringTable) {
        self.tokens = tokens
        self.scores = vocabulary.scores
        self.byteTokens = (0..<256).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            let name = "<0x" + (byte < 16 ? "0" : "") + hex + ">"
            return tokens.index(of: Array(name.utf8)) ?? tokens.index(of: [UInt8(byte)])
                ?? vocabulary.unknownTokenID
        }
    }

    /// One candidate join: `left` and `right` are symbol indices; `length` is
    /// the byte length of the joined text, so a candidate made stale by an
    /// earlier join (either side grew) is recognized and skipped.
    private struct Candidate: Comparable {
        var score: Float
        var left: Int
        var right: Int
        var length: Int

        /// "Less" means "joined first": higher score, then further left.
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
    }

    /// A run of the text that is (so far) one piece.
    private struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int]) {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var offset = 0
        while offset < text.count {
            let length = min(Self.sequenceLength(leadByte: text[offset]), text.count - offset)
            symbols.append(Symbol(start: offset, length: length, previous: symbols.count - 1, next: symbols.count + 1))
            offset += length
        }
        guard !symbols.isEmpty else { return }
        symbols[symbols.count - 1].next = -1

        var queue = Heap<Candidate>()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let start = symbols[left].start
            let length = symbols[left].length + symbols[right].length
            guard let id = tokens.index(of: UnsafeBufferPointer(rebasing: text[start..<start + length])) else {
                return
            }
            let score = id < scores.count ? scores[id] : 0
            queue.insert(Candidate(score: score, left: left, right: right, length: length))
        }
        for index in 1..<symbols.count { consider(index - 1, index) }

        while let candidate = queue.popMin() {
            let left = symbols[candidate.left]
            let right = symbols[candidate.right]
            guard left.length > 0, right.length > 0, left.length + right.length == candidate.length else { continue }
            symbols[candidate.left].length = candidate.length
            symbols[candidate.left].next = right.next
            symbols[candidate.right].length = 0
            if right.next >= 0 { symbols[right.next].previous = candidate.left }
            consider(left.previous, candidate.left)
            consider(candidate.left, right.next)
        }

        var index = 0
        while index >= 0 {
            let symbol = symbols[index]
            let piece = UnsafeBufferPointer(rebasing: text[symbol.start..<symbol.start + symbol.length])
            if let id = tokens.index(of: piece) {
                output.append(id)
            } else {
                // Joins only ever form tokens, so this is a single character
                // the vocabulary lacks: spell it in bytes.
                for byte in piece {
                    if let id = byteTokens[Int(byte)] { output.append(id) }
                }
            }
            index = symbol.next
        }
    }

    /// The length of the UTF-8 sequence a byte starts (1 for bytes that start none).
    static func sequenceLength(leadByte byte: UInt8) -> Int {
        switch byte {
        case 0xC0...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF7: 4
        default: 1
        }
    }
}
