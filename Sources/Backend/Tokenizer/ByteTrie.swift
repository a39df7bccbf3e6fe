/// A set of byte strings as a trie, answering "which of them starts here,
/// longest first" in as many steps as the longest of them has bytes,
/// however many strings there are (Llama 3 has 256 control tokens).
struct ByteTrie: Sendable {
    /// Each node's children by next byte; node 0 is the root.
    private var children: [[UInt8: Int32]] = [[:]]
    /// Whether a string of the set ends at each node.
    private var isEnd: [Bool] = [false]

    init(_ strings: some Sequence<[UInt8]>) {
        for string in strings where !string.isEmpty {
            var node = 0
            for byte in string {
                if let next = children[node][byte] {
                    node = Int(next)
                } else {
                    children.append([:])
                    isEnd.append(false)
                    children[node][byte] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            isEnd[node] = true
        }
    }

    /// The end of the longest string of the set that `text` holds at `start`, if any.
    func longestMatch(in text: [UInt8], from start: Int) -> Int? {
        var node = 0
        var end: Int?
        var index = start
        while index < text.count, let next = children[node][text[index]] {
            node = Int(next)
            index += 1
            if isEnd[node] { end = index }
        }
        return end
    }
}
