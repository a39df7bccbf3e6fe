/// A set of byte strings as a trie, answering "which of them starts here,
/// longest first" in as many steps as the longest of them has bytes,
/// however many strings there are (Llama 3 has 256 control tokens).
struct ByteTrie: Sendable {
    /// Each node's children by next byte; node 0 is the root.
    private var children: [[UInt8: Int32]] = [[:]]
    /// Whether a string of the set ends at each node.
    private var isEnd: [Bool] = [false]
    /// The position in the initializer's sequence of the string ending at each node (-1: none).
    private var stringIndex: [Int32] = [-1]

    init(_ strings: some Sequence<[UInt8]>) {
        for (position, string) in strings.enumerated() where !string.isEmpty {
            var node = 0
            for byte in string {
                if let next = children[node][byte] {
                    node = Int(next)
                } else {
                    children.append([:])
                    isEnd.append(false)
                    stringIndex.append(-1)
                    children[node][byte] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            isEnd[node] = true
            if stringIndex[node] < 0 { stringIndex[node] = Int32(position) }
        }
    }

    /// The node reached from `node` by `byte`, if any string continues that way.
    func child(of node: Int, byte: UInt8) -> Int? {
        children[node][byte].map(Int.init)
    }

    /// The first bytes of the strings.
    var firstBytes: [UInt8] { Array(children[0].keys) }

    /// Whether any string goes on past `node`.
    func hasChildren(_ node: Int) -> Bool { !children[node].isEmpty }

    /// The position of the (first) string that ends at `node`, if one does.
    func string(endingAt node: Int) -> Int? {
        stringIndex[node] >= 0 ? Int(stringIndex[node]) : nil
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
