/// How far a document has come through a ``JSONGrammar``: the stacks of open
/// constructs of each alternative still alive (several only while `anyOf`
/// branches both fit the bytes so far).
///
/// Advance it byte by byte (or a token's bytes at once); a byte no
/// alternative accepts is refused and leaves the state as it was. The
/// grammar is built so that every state reached can still be completed.
public struct GrammarState: Sendable, Equatable {
    let grammar: JSONGrammar
    /// Each alternative's stack of open frames, innermost last; an empty stack is a finished document.
    private(set) var threads: [[GrammarFrame]]

    /// The most alternatives kept: dropping some only narrows what is accepted.
    static let maximumThreads = 32
    /// The most whitespace bytes in a row between tokens of the document.
    static let maximumWhitespace = 16

    init(grammar: JSONGrammar) {
        self.grammar = grammar
        threads = []
        for node in grammar.concreteNodes(grammar.root) { threads.append([.value(node: node, whitespace: 0)]) }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
    }

    /// Accepts `byte` if the grammar allows it here; returns whether it did.
    @discardableResult
    public mutating func advance(_ byte: UInt8) -> Bool {
        var next: [[GrammarFrame]] = []
        for thread in threads { feed(byte, to: thread, into: &next) }
        guard !next.isEmpty else { return false }
        if next.count > 1 {
            var unique = Set<[GrammarFrame]>()
            next = next.filter { unique.insert($0).inserted }
            if next.count > Self.maximumThreads { next.removeSubrange(Self.maximumThreads...) }
        }
        threads = next
        return true
    }

    /// Accepts all of `bytes` if the grammar allows them; otherwise returns false and stays put.
    public mutating func advance(_ bytes: some Sequence<UInt8>) -> Bool {
        var copy = self
        for byte in bytes where !copy.advance(byte) { return false }
        self = copy
        return true
    }

    /// Whether the document may end here.
    public var isComplete: Bool {
        threads.contains { thread in
            guard let top = thread.last else { return true }
            return thread.count == 1 && canEnd(top)
        }
    }

    /// Whether any byte may follow.
    public var canContinue: Bool {
        (0...255).contains { byte in
            var copy = self
            return copy.advance(UInt8(byte))
        }
    }

    /// Whether a number or literal at the top of a stack may end at the end of the document.
    private func canEnd(_ frame: GrammarFrame) -> Bool {
        switch frame {
        case .number(let node, let number):
            guard case .number(let rule) = grammar.nodes[node] else { return false }
            return number.canEnd(rule)
        case .literal(let node, let trieNode):
            guard case .literals(let trie) = grammar.nodes[node] else { return false }
            return trie.string(endingAt: trieNode) != nil
        default:
            return false
        }
    }

    /// Feeds `byte` to `thread`, appending the threads it leads to (none if refused).
    private func feed(_ byte: UInt8, to thread: [GrammarFrame], into result: inout [[GrammarFrame]]) {
        var thread = thread
        while let top = thread.last {
            switch step(top, byte, depth: thread.count) {
            case .rejected:
                return
            case .replaced(let frame):
                thread[thread.count - 1] = frame
                result.append(thread)
                return
            case .ended(let consumed):
                thread.removeLast()
                if consumed { result.append(thread); return }
            case .opened(let frame, let child, let consumed):
                thread[thread.count - 1] = frame
                for node in grammar.concreteNodes(child) {
                    let branch = thread + [.value(node: node, whitespace: 0)]
                    if consumed { result.append(branch) } else { feed(byte, to: branch, into: &result) }
                }
                return
            }
        }
    }

    /// What one byte does to the innermost frame.
    private enum Step {
        case rejected
        case replaced(GrammarFrame)
        /// The frame is finished; if the byte was not part of it, it goes to the frame below.
        case ended(consumed: Bool)
        /// The frame (updated) opens a child value of `child`, which gets the byte if it was not consumed.
        case opened(GrammarFrame, child: Int, consumed: Bool)
    }

    private func step(_ frame: GrammarFrame, _ byte: UInt8, depth: Int) -> Step {
        switch frame {
        case .value(let node, let whitespace):
            if Self.isWhitespace(byte) {
                return whitespace < Self.maximumWhitespace ? .replaced(.value(node: node, whitespace: whitespace + 1)) : .rejected
            }
            guard let (begun, takesByte) = begin(node, with: byte, depth: depth) else { return .rejected }
            return takesByte ? .replaced(begun) : step(begun, byte, depth: depth)
        case .object(let node, var object):
            guard case .object(let rule) = grammar.nodes[node] else { return .rejected }
            return objectStep(object.advance(byte, rule)) { .object(node: node, object) }
        case .anyObject(var object):
            return objectStep(object.advance(byte, grammar.anyObjectRule)) { .anyObject(object) }
        case .array(let node, var array):
            guard case .array(let item, let minItems, let maxItems) = grammar.nodes[node] else { return .rejected }
            return arrayStep(array.advance(byte, minItems: minItems, maxItems: maxItems), item: item) { .array(node: node, array) }
        case .anyArray(var array):
            return arrayStep(array.advance(byte, minItems: 0, maxItems: .max), item: grammar.anyValueNode) { .anyArray(array) }
        case .string(var string):
            switch string.advance(byte) {
            case .rejected: return .rejected
            case .consumed: return .replaced(.string(string))
            case .closed: return .ended(consumed: true)
            }
        case .number(let node, var number):
            guard case .number(let rule) = grammar.nodes[node] else { return .rejected }
            switch number.advance(byte, rule) {
            case .rejected: return .rejected
            case .consumed: return .replaced(.number(node: node, number))
            case .ended: return .ended(consumed: false)
            }
        case .literal(let node, let trieNode):
            guard case .literals(let trie) = grammar.nodes[node] else { return .rejected }
            if let next = trie.child(of: trieNode, byte: byte) { return .replaced(.literal(node: node, trieNode: next)) }
            return trie.string(endingAt: trieNode) != nil ? .ended(consumed: false) : .rejected
        }
    }

    private func objectStep(_ outcome: ObjectFrame.Outcome, _ updated: () -> GrammarFrame) -> Step {
        switch outcome {
        case .rejected: .rejected
        case .consumed: .replaced(updated())
        case .closed: .ended(consumed: true)
        case .openValue(let child): .opened(updated(), child: child, consumed: true)
        }
    }

    private func arrayStep(_ outcome: ArrayFrame.Outcome, item: Int, _ updated: () -> GrammarFrame) -> Step {
        switch outcome {
        case .rejected: .rejected
        case .consumed: .replaced(updated())
        case .closed: .ended(consumed: true)
        case .openItem(let consumed): .opened(updated(), child: item, consumed: consumed)
        }
    }

    /// The frame a value of `node` starting with `byte` opens, and whether
    /// that byte (`{`, `[`, `"`) is taken by opening it; otherwise (numbers,
    /// literals) the byte is the frame's first.
    private func begin(_ node: Int, with byte: UInt8, depth: Int) -> (GrammarFrame, Bool)? {
        switch grammar.nodes[node] {
        case .object: return byte == UInt8(ascii: "{") ? (.object(node: node, ObjectFrame()), true) : nil
        case .array: return byte == UInt8(ascii: "[") ? (.array(node: node, ArrayFrame()), true) : nil
        case .string(let minLength, let maxLength):
            return byte == UInt8(ascii: "\"") ? (.string(StringFrame(minLength: minLength, maxLength: maxLength)), true) : nil
        case .number: return (.number(node: node, NumberFrame()), false)
        case .literals: return (.literal(node: node, trieNode: 0), false)
        case .anyOf: return nil
        case .any:
            switch byte {
            case UInt8(ascii: "{"): return depth <= grammar.anyValueDepth ? (.anyObject(ObjectFrame()), true) : nil
            case UInt8(ascii: "["): return depth <= grammar.anyValueDepth ? (.anyArray(ArrayFrame()), true) : nil
            case UInt8(ascii: "\""): return (.string(StringFrame(minLength: 0, maxLength: .max)), true)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): return (.literal(node: grammar.anyLiteralNode, trieNode: 0), false)
            default: return (.number(node: grammar.anyNumberNode, NumberFrame()), false)
            }
        }
    }
}

extension GrammarState {
    /// Whether some alternative is at a character boundary inside a string
    /// (or a key where any name is allowed) with room for `characters` more
    /// characters: any unescaped text then keeps it there, so a whole trie
    /// subtree of such tokens is allowed at once.
    func takesAnyText(characters: Int) -> Bool {
        threads.contains { thread in
            switch thread.last {
            case .string(let string)?:
                return !string.inEscape && string.encoding.isComplete && string.maxLength - string.length >= characters
            case .anyObject(let object)?:
                return object.phase == .key && object.key.encoding.isComplete
            case .object(let node, let object)?:
                guard object.phase == .key, object.key.encoding.isComplete, case .object(let rule) = grammar.nodes[node] else { return false }
                return rule.additionalValueNode != nil
            default:
                return false
            }
        }
    }
}
