/// The KV caches of finished sequences, kept so that a new prompt that
/// starts like an earlier one (the next turn of a chat, a shared system
/// prompt) reuses the computed positions instead of recomputing them.
///
/// Holds at most ``capacity`` caches; the least recently used goes first.
/// Confined to the scheduler's thread.
struct PrefixCachePool {
    private struct Entry {
        let cache: KVCache
        /// The tokens whose keys and values the cache holds, in order.
        let tokens: [Int]
        var lastUsed: UInt64
    }

    /// The most caches kept.
    let capacity: Int
    private var entries: [Entry] = []
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The number of caches kept now.
    var count: Int { entries.count }

    /// Keeps `cache`, which holds `tokens`, for later reuse.
    mutating func put(_ cache: KVCache, tokens: [Int]) {
        guard capacity > 0 else { return }
        clock += 1
        cache.truncate(to: tokens.count)
        entries.append(Entry(cache: cache, tokens: Array(tokens.prefix(cache.count)), lastUsed: clock))
        if entries.count > capacity, let oldest = entries.indices.min(by: { entries[$0].lastUsed < entries[$1].lastUsed }) {
            entries.remove(at: oldest)
        }
    }

    /// Takes out the cache sharing the longest prefix with `prompt`, cut
    /// back to that prefix (leaving at least the prompt's last token to run,
    /// whose logits the generation starts from). Returns `nil` when no kept
    /// cache shares a prefix; then a full pool gives up its least recently
    /// used cache (emptied) rather than have a new one allocated.
    mutating func take(forPrompt prompt: [Int]) -> (cache: KVCache, reused: Int)? {
        var best: (index: Int, length: Int)?
        for (index, entry) in entries.enumerated() {
            // What the cache can continue from (a sliding-window ring may have
            // overwritten the window before a shorter prefix).
            let shared = min(Self.commonPrefixLength(entry.tokens, prompt), prompt.count - 1)
            let length = entry.cache.reusablePrefix(upTo: shared)
            if length > (best?.length ?? 0) { best = (index, length) }
        }
        if let best {
            let entry = entries.remove(at: best.index)
            entry.cache.truncate(to: best.length)
            return (entry.cache, entry.cache.count)
        }
        guard entries.count >= capacity, let oldest = entries.indices.min(by: { entries[$0].lastUsed < entries[$1].lastUsed }) else {
            return nil
        }
        let entry = entries.remove(at: oldest)
        entry.cache.truncate(to: 0)
        return (entry.cache, 0)
    }

    static func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
        var length = 0
        while length < a.count, length < b.count, a[length] == b[length] { length += 1 }
        return length
    }
}
