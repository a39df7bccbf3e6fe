/// One sequence's part in a decoding step shared by several sequences: the
/// token it feeds next and the cache that holds what it has computed so far.
public struct DecodeStepEntry {
    /// The token to run, at the position `cache.count`.
    public var token: Int32
    /// The sequence's own cache; the token's keys and values are appended to it.
    public var cache: KVCache

    public init(token: Int32, cache: KVCache) {
        self.token = token
        self.cache = cache
    }
}

extension LanguageModel {
    /// Runs one new token for each of several independent sequences and
    /// returns each sequence's logits (``vocabularySize`` floats), in the
    /// order of `entries`.
    ///
    /// This is the step continuous batching is built on: every active
    /// sequence of a server advances by one token per call. The tokens go
    /// through the weight matrices together, as the rows of one batch, so
    /// the weights are read from memory once per step rather than once per
    /// sequence; attention is per sequence, over each entry's own cache.
    /// The results equal those of one ``forward(_:cache:pool:logitsFrom:)``
    /// per entry up to the summation order.
    ///
    /// - Throws: ``InferenceError`` if there are no entries, a token is not
    ///   in the vocabulary, a cache is full or made for another model, or
    ///   two entries share a cache. Nothing is run then.
    public func decode(_ entries: [DecodeStepEntry], pool: ComputePool) throws(InferenceError) -> [[Float]] {
        guard !entries.isEmpty else { throw InferenceError(.emptyInput, "no sequences to decode") }
        let tokens = entries.map(\.token)
        try checkTokens(tokens)
        var seen = Set<ObjectIdentifier>()
        for entry in entries {
            guard seen.insert(ObjectIdentifier(entry.cache)).inserted else {
                throw InferenceError(.invalidCache, "two sequences of one decoding step share a cache")
            }
            try check(entry.cache, room: 1)
        }
        let sequences = entries.enumerated().map { row, entry in
            SequenceRows(cache: entry.cache, start: entry.cache.count, rows: row..<row + 1)
        }
        let x = runBlocks(tokens, sequences: sequences, pool: pool)
        let all = logits(of: x, rows: 0..<entries.count, pool: pool)
        return (0..<entries.count).map { row in
            Array(all[row * vocabularySize..<(row + 1) * vocabularySize])
        }
    }
}
