/// The properties an object may hold and which of them it must.
struct ObjectRule: Sendable {
    /// The property names (their JSON string contents, without quotes) as a
    /// trie; each name's index in ``valueNodes`` is its trie terminal's id.
    let names: ByteTrie
    /// The value node of each property, by property index.
    let valueNodes: [Int]
    /// Which properties must appear, one bit per property index.
    let requiredMask: UInt64
    /// The node other keys' values must match, or `nil` when no other keys are allowed.
    let additionalValueNode: Int?
    /// For each trie node, the properties whose names pass through it.
    private let prefixMasks: [Int: UInt64]

    init(names: [[UInt8]], valueNodes: [Int], requiredMask: UInt64, additionalValueNode: Int?) {
        let trie = ByteTrie(names)
        var masks: [Int: UInt64] = [:]
        for (index, name) in names.enumerated() {
            var node = 0
            for byte in name {
                guard let next = trie.child(of: node, byte: byte) else { break }
                node = next
                masks[node, default: 0] |= 1 << UInt64(index)
            }
        }
        self.names = trie
        self.valueNodes = valueNodes
        self.requiredMask = requiredMask
        self.additionalValueNode = additionalValueNode
        prefixMasks = masks
    }

    /// The properties whose names pass through trie node `node`.
    func properties(below node: Int) -> UInt64 { prefixMasks[node] ?? 0 }
}
