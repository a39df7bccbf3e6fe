extension KVCache {
    /// A cache with room for at least `needed` positions holding this one's
    /// filled positions: `self` when it is big enough, else a larger copy.
    ///
    /// The server sizes a sequence's cache for its prompt and a first stretch
    /// of generation, and grows it by doubling (up to `limit`, the context
    /// length) as the sequence goes on: a cache sized for the whole context
    /// up front would cost hundreds of megabytes per sequence for models with
    /// long contexts.
    func growing(toHold needed: Int, limit: Int, model: LanguageModel) -> KVCache {
        guard needed > capacity else { return self }
        let target = min(limit, max(needed, capacity * 2))
        let larger = KVCache(for: model, capacity: target)
        copyFilled(into: larger)
        return larger
    }
}
