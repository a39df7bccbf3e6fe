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
    /// sequence of a server advances by one token per call. Each entry must
    /// have its own cache.
    public func decode(_ entries: [DecodeStepEntry], pool: ComputePool) throws(InferenceError) -> [[Float]] {
        var logits: [[Float]] = []
        logits.reserveCapacity(entries.count)
        for entry in entries {
            logits.append(try forward([entry.token], cache: entry.cache, pool: pool))
        }
        return logits
    }
}
