/// Matches an object after its `{`: keys (known properties by their trie, or
/// any string where other keys are allowed), `:`, values (pushed as child
/// frames), `,` and `}` — the last only once every required property is in,
/// and `"`/`,` only while some key can still be added.
struct ObjectFrame: Hashable, Sendable {
    enum Phase: UInt8, Hashable, Sendable { case open, key, colon, afterValue, afterComma }

    var phase = Phase.open
    var whitespace = 0
    /// Properties already written, one bit per property index.
    var seen: UInt64 = 0
    /// Where the key being read stands in the property-name trie (-1: it matches no property).
    var keyNode = 0
    var key = StringFrame(minLength: 0, maxLength: .max)
    /// The value node the key just read calls for.
    var valueNode = 0
    /// Hashes of the names written that are no property (FNV-1a), so that
    /// none is written twice; `keyHash` is the one of the key being read.
    var otherKeyHashes: [UInt64] = []
    var keyHash: UInt64 = Self.hashStart
    static let hashStart: UInt64 = 0xCBF2_9CE4_8422_2325

    /// The outcome of one byte.
    enum Outcome { case rejected, consumed, closed, openValue(Int) }

    mutating func advance(_ byte: UInt8, _ rule: ObjectRule) -> Outcome {
        if GrammarState.isWhitespace(byte) && phase != .key {
            whitespace += 1
            return whitespace <= GrammarState.maximumWhitespace ? .consumed : .rejected
        }
        whitespace = 0
        switch (phase, byte) {
        case (.open, UInt8(ascii: "}")), (.afterValue, UInt8(ascii: "}")):
            return seen & rule.requiredMask == rule.requiredMask ? .closed : .rejected
        case (.open, UInt8(ascii: "\"")), (.afterComma, UInt8(ascii: "\"")):
            guard canAddKey(rule) else { return .rejected }
            phase = .key
            keyNode = 0
            keyHash = Self.hashStart
            key = StringFrame(minLength: 0, maxLength: .max)
            return .consumed
        case (.afterValue, UInt8(ascii: ",")):
            guard canAddKey(rule) else { return .rejected }
            phase = .afterComma
            return .consumed
        case (.colon, UInt8(ascii: ":")):
            phase = .afterValue
            return .openValue(valueNode)
        case (.key, _):
            return advanceKey(byte, rule)
        default:
            return .rejected
        }
    }

    private func canAddKey(_ rule: ObjectRule) -> Bool {
        rule.additionalValueNode != nil || rule.valueNodes.indices.contains { seen & (1 << UInt64($0)) == 0 }
    }

    private mutating func advanceKey(_ byte: UInt8, _ rule: ObjectRule) -> Outcome {
        var next = key
        // No escapes in keys: a known name spelled with one would pass for an unknown key.
        switch next.advance(byte, allowsEscapes: false) {
        case .rejected: return .rejected
        case .consumed:
            let node = keyNode >= 0 ? rule.names.child(of: keyNode, byte: byte) ?? -1 : -1
            if rule.additionalValueNode == nil {
                // Only known names: the prefix must still lead to one not written yet.
                guard node >= 0, rule.properties(below: node) & ~seen != 0 else { return .rejected }
            }
            keyNode = node
            keyHash = (keyHash ^ UInt64(byte)) &* 0x100_0000_01B3
        case .closed:
            if keyNode >= 0, let property = rule.names.string(endingAt: keyNode), seen & (1 << UInt64(property)) == 0 {
                seen |= 1 << UInt64(property)
                valueNode = rule.valueNodes[property]
            } else if let additional = rule.additionalValueNode, keyNode < 0 || rule.names.string(endingAt: keyNode) == nil,
                !otherKeyHashes.contains(keyHash)
            {
                // A name that is no property, not written before (a property written twice is refused above;
                // a hash collision only refuses a name, and another one can always be written instead).
                otherKeyHashes.append(keyHash)
                valueNode = additional
            } else {
                return .rejected
            }
            phase = .colon
        }
        key = next
        return .consumed
    }
}
