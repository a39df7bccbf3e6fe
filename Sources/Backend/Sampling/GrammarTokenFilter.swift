/// Which tokens keep one sequence's output inside its grammar, and the
/// grammar state those accepted so far have reached.
///
/// Checking the one token the sampler chose costs a few bytes of matching;
/// the full set (``allowedTokens()``) walks the ``VocabularyTrie`` and is
/// needed only when that token is refused. End-of-generation tokens are
/// allowed only where the document may end; control tokens never.
struct GrammarTokenFilter: Sendable {
    private let tokenizer: Tokenizer
    private let trie: VocabularyTrie
    /// The grammar state after the tokens accepted so far.
    private(set) var state: GrammarState

    init(_ constraint: OutputConstraint, tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        trie = VocabularyTrie.shared(for: tokenizer)
        state = constraint.grammar.start()
    }

    /// Whether `token` may come next.
    func allows(_ token: Int) -> Bool {
        if tokenizer.isEndOfGeneration(token) { return state.isComplete }
        guard token >= 0, token < tokenizer.vocabularySize else { return false }
        switch tokenizer.vocabulary.type(of: token) {
        case .control, .unknown, .unused: return false
        default: break
        }
        let bytes = tokenizer.pieceBytes(token)
        var next = state
        return !bytes.isEmpty && next.advance(bytes)
    }

    /// Every token that may come next.
    func allowedTokens() -> [Int] {
        var allowed: [Int] = []
        if state.isComplete { allowed += tokenizer.vocabulary.endOfGenerationTokenIDs.sorted() }
        // states[d]: the state after the first d bytes of the current branch.
        var states = [GrammarState](repeating: state, count: trie.maximumDepth + 1)
        var takesPlainText = [Bool](repeating: false, count: trie.maximumDepth + 1)
        takesPlainText[0] = state.takesAnyText(characters: trie.maximumDepth)
        var node = 1
        while node < trie.count {
            let depth = Int(trie.depth[node])
            if takesPlainText[depth - 1] && trie.textSubtree[node] {
                // Inside a string with room to spare: all of this subtree is text it takes as it is.
                allowed += trie.tokens(inSubtreeOf: node).lazy.map(Int.init)
                node = Int(trie.subtreeEnd[node])
                continue
            }
            var next = states[depth - 1]
            guard next.advance(trie.byte[node]) else {
                node = Int(trie.subtreeEnd[node])
                continue
            }
            allowed += trie.tokens(endingAt: node).lazy.map(Int.init)
            if depth < trie.maximumDepth {
                takesPlainText[depth] = next.takesAnyText(characters: trie.maximumDepth - depth)
                states[depth] = next
            }
            node += 1
        }
        return allowed
    }

    /// Moves the state past `token` (which ``allows(_:)`` accepted).
    mutating func accept(_ token: Int) {
        guard !tokenizer.isEndOfGeneration(token) else { return }
        _ = state.advance(tokenizer.pieceBytes(token))
    }

    /// Whether the document is complete and nothing may follow it.
    var isFinished: Bool { state.isComplete && !state.canContinue }
}
