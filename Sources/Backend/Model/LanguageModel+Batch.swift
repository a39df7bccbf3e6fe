/// One sequence's part in a step of the model shared by several sequences:
/// the tokens it runs next (a prompt chunk, or the one token it decodes)
/// and the cache that holds what it has computed so far.
public struct SequenceChunk {
    /// The tokens to run, at the positions `cache.count`, `cache.count + 1`, ….
    public var tokens: [Int32]
    /// The sequence's own cache; the tokens' keys and values are appended to it.
    public var cache: KVCache
    /// Whether the step returns the logits of the chunk's last token (a
    /// decoding token, or a prompt's final chunk); a prompt chunk that
    /// leaves more of its prompt to run needs none, and skipping the output
    /// projection for it saves a vocabulary-sized product per chunk.
    public var wantsLogits: Bool

    public init(tokens: [Int32], cache: KVCache, wantsLogits: Bool = true) {
        self.tokens = tokens
        self.cache = cache
        self.wantsLogits = wantsLogits
    }
}

extension LanguageModel {
    /// Runs a chunk of tokens for each of several independent sequences in
    /// one pass and returns, per chunk and in the order of `chunks`, the
    /// logits of its last token (``vocabularySize`` floats), or `nil` for a
    /// chunk that did not ask for them.
    ///
    /// This is the step continuous batching is built on: in one call,
    /// sequences that decode advance by one token and new prompts advance
    /// by a chunk (llama.cpp's unified batch). All rows of all chunks go
    /// through the weight matrices together, so the weights are read once
    /// per step however many sequences it holds; RoPE positions and
    /// attention are per sequence, over each chunk's own cache. The results
    /// equal those of one ``forward(_:cache:pool:logitsFrom:)`` per chunk up
    /// to the summation order of the matrix products.
    ///
    /// - Throws: ``InferenceError`` if there are no chunks, a chunk is
    ///   empty, a token is not in the vocabulary, a cache has no room for its
    ///   chunk or was made for another model, or two chunks share a cache.
    ///   Nothing is run then.
    public func step(_ chunks: [SequenceChunk], pool: ComputePool) throws(InferenceError) -> [[Float]?] {
        guard !chunks.isEmpty else { throw InferenceError(.emptyInput, "no sequences to run") }
        var seen = Set<ObjectIdentifier>()
        var sequences: [SequenceRows] = []
        var tokens: [Int32] = []
        for chunk in chunks {
            guard !chunk.tokens.isEmpty else { throw InferenceError(.emptyInput, "a sequence of the step has no tokens to run") }
            guard seen.insert(ObjectIdentifier(chunk.cache)).inserted else {
                throw InferenceError(.invalidCache, "two sequences of one step share a cache")
            }
            try checkTokens(chunk.tokens)
            try check(chunk.cache, room: chunk.tokens.count)
            // Sliding-window rings: a chunk's last keys must not overwrite what
            // its first token's window still reads (``forward`` splits instead).
            guard chunk.tokens.count <= chunk.cache.largestBatch else {
                throw InferenceError(.invalidCache, "a chunk of \(chunk.tokens.count) tokens exceeds the \(chunk.cache.largestBatch) a sliding-window cache takes in one pass")
            }
            sequences.append(SequenceRows(cache: chunk.cache, start: chunk.cache.count, rows: tokens.count..<tokens.count + chunk.tokens.count))
            tokens += chunk.tokens
        }
        let x = runBlocks(tokens, sequences: sequences, pool: pool)
        let logitRows = zip(chunks, sequences).filter { $0.0.wantsLogits }.map { $0.1.rows.upperBound - 1 }
        guard !logitRows.isEmpty else { return chunks.map { _ in nil } }
        let all = logits(of: x, rows: logitRows, pool: pool)
        var next = 0
        return chunks.map { chunk in
            guard chunk.wantsLogits else { return nil }
            defer { next += 1 }
            return Array(all[next * vocabularySize..<(next + 1) * vocabularySize])
        }
    }
}
