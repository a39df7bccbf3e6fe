import Synchronization

/// The bytes of every token a constrained generation may emit, as a trie
/// laid out in depth-first order, so that finding every token a grammar
/// state accepts is one forward scan that skips a whole subtree at the first
/// byte the grammar refuses (the 152k-token Qwen2 vocabulary has ~1/3 as
/// many trie nodes as bytes, and most subtrees die at their first byte).
///
/// Control, unknown and unused tokens are left out: they never appear
/// inside constrained output. Built once per tokenizer (see ``shared(for:)``).
public struct VocabularyTrie: Sendable {
    /// Per node, in depth-first order (node 0 is the root, with no byte):
    /// the byte leading to it, its depth, the index just past its subtree,
    /// and the start of its tokens in ``tokens`` (they end at the next node's start).
    private(set) var byte: [UInt8] = [0]
    private(set) var depth: [UInt16] = [0]
    private(set) var subtreeEnd: [Int32] = [1]
    private(set) var tokenStart: [Int32] = [0]
    /// Whether every token in the node's subtree, from the node's own byte
    /// on, is whole UTF-8 characters with no control character, `"` or `\`:
    /// text a JSON string (at a character boundary) takes as it is.
    private(set) var textSubtree: [Bool] = [false]
    /// Token ids, grouped by the node they end at, in node order.
    private(set) var tokens: [Int32] = []
    /// The longest token, in bytes.
    private(set) var maximumDepth = 0

    /// The node count.
    var count: Int { byte.count }

    /// Indexes the tokens of `tokenizer` that may appear in text.
    public init(_ tokenizer: Tokenizer) {
        var entries: [(bytes: ArraySlice<UInt8>, token: Int)] = []
        for token in 0..<tokenizer.vocabularySize where Self.mayAppearInText(tokenizer.vocabulary.type(of: token)) {
            let bytes = tokenizer.pieceBytes(token)
            if !bytes.isEmpty { entries.append((bytes, token)) }
        }
        entries.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        var path: [Int] = [0]  // path[d] is the node at depth d on the current branch
        var previous: ArraySlice<UInt8> = []
        for entry in entries {
            var shared = 0
            while shared < min(previous.count, entry.bytes.count)
                && previous[previous.startIndex + shared] == entry.bytes[entry.bytes.startIndex + shared]
            {
                shared += 1
            }
            close(path: &path, downTo: shared)
            for byte in entry.bytes.dropFirst(shared) {
                self.byte.append(byte)
                depth.append(UInt16(path.count))
                subtreeEnd.append(0)
                tokenStart.append(Int32(tokens.count))
                textSubtree.append(true)
                path.append(self.byte.count - 1)
            }
            let isText = Self.textSuffixes(entry.bytes)
            for depth in 1..<path.count where !isText[depth - 1] { textSubtree[path[depth]] = false }
            tokens.append(Int32(entry.token))
            maximumDepth = max(maximumDepth, entry.bytes.count)
            previous = entry.bytes
        }
        close(path: &path, downTo: 0)
        subtreeEnd[0] = Int32(byte.count)
    }

    /// Ends the nodes of `path` deeper than `depth`: their subtrees are complete.
    private mutating func close(path: inout [Int], downTo depth: Int) {
        while path.count > depth + 1 {
            let node = path.removeLast()
            subtreeEnd[node] = Int32(byte.count)
        }
    }

    /// The tokens ending at `node`.
    func tokens(endingAt node: Int) -> ArraySlice<Int32> {
        let end = node + 1 < count ? Int(tokenStart[node + 1]) : tokens.count
        return tokens[Int(tokenStart[node])..<end]
    }

    /// The tokens in `node`'s subtree, itself included.
    func tokens(inSubtreeOf node: Int) -> ArraySlice<Int32> {
        let end = Int(subtreeEnd[node]) < count ? Int(tokenStart[Int(subtreeEnd[node])]) : tokens.count
        return tokens[Int(tokenStart[node])..<end]
    }

    private static func mayAppearInText(_ type: TokenType) -> Bool {
        type != .control && type != .unknown && type != .unused
    }

    /// For each position of `bytes`, whether the bytes from there to the end
    /// are whole, well-formed UTF-8 characters a JSON string takes unescaped.
    static func textSuffixes(_ bytes: ArraySlice<UInt8>) -> [Bool] {
        let bytes = Array(bytes)
        var isText = [Bool](repeating: false, count: bytes.count + 1)
        isText[bytes.count] = true
        for start in stride(from: bytes.count - 1, through: 0, by: -1) {
            var string = StringFrame(minLength: 0, maxLength: .max)
            var end = start
            // One character: its bytes up to where the encoding is complete again.
            repeat {
                guard bytes[end] != UInt8(ascii: "\\"), string.advance(bytes[end]) == .consumed else { end = -1; break }
                end += 1
            } while end < bytes.count && !string.encoding.isComplete
            isText[start] = end > start && string.encoding.isComplete && isText[end]
        }
        return Array(isText.dropLast())
    }

    // MARK: - One per tokenizer

    /// The trie of `tokenizer`'s vocabulary, built on first use and kept
    /// while the tokenizer's vocabulary lives (the server loads one model at a time).
    public static func shared(for tokenizer: Tokenizer) -> VocabularyTrie {
        cache.withLock { cached in
            if let cached, cached.vocabulary == tokenizer.vocabulary { return cached.trie }
            let trie = VocabularyTrie(tokenizer)
            cached = (tokenizer.vocabulary, trie)
            return trie
        }
    }

    private static let cache = Mutex<(vocabulary: TokenizerVocabulary, trie: VocabularyTrie)?>(nil)
}
