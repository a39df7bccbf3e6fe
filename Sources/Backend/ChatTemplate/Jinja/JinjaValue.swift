/// A value while a template renders, with Python's semantics as Jinja has
/// them: truthiness, equality across `int`/`float`/`bool`, `str()`.
///
/// Lists and dictionaries are values (the sandbox Hugging Face renders in
/// forbids mutating them); only ``JinjaNamespace`` is shared and mutable.
enum JinjaValue {
    /// A missing variable, attribute or item; `name` says which, for errors.
    case undefined(String)
    case none
    case boolean(Bool)
    case integer(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    /// A Python tuple: `(a, b)`, `a, b`, the pairs of `items()`. Behaves as a
    /// list but prints with parentheses and never equals one.
    case tuple([JinjaValue])
    indirect case dictionary(JinjaDictionary)
    case namespace(JinjaNamespace)
    case function(JinjaFunction)
    /// A `for` loop's `loop` variable.
    case loop(JinjaLoopState)

    /// Python's truth value; undefined is false.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .boolean(let value): value
        case .integer(let value): value != 0
        case .double(let value): value != 0
        case .string(let value): !value.isEmpty
        case .list(let items), .tuple(let items): !items.isEmpty
        case .dictionary(let dictionary): !dictionary.isEmpty
        case .namespace, .function, .loop: true
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { true } else { false }
    }

    /// The number as a `Double`, for `int`, `float` and `bool`.
    var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        case .boolean(let value): value ? 1 : 0
        default: nil
        }
    }

    /// The integer, for `int` and `bool` (Python's `bool` is an `int`).
    var integer: Int? {
        switch self {
        case .integer(let value): value
        case .boolean(let value): value ? 1 : 0
        default: nil
        }
    }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .boolean: "bool"
        case .integer: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .tuple: "tuple"
        case .dictionary: "dict"
        case .namespace: "Namespace"
        case .function: "function"
        case .loop: "LoopContext"
        }
    }

    /// Python's `==`.
    func isEqual(to other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        // By code points as Python compares (Swift's == is canonical equivalence).
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEqual(to: $1) }
        case (.dictionary(let a), .dictionary(let b)):
            return a.count == b.count && a.entries.allSatisfy { entry in b[entry.key].map { $0.isEqual(to: entry.value) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let a = integer, let b = other.integer { return a == b }
            if let a = number, let b = other.number { return a == b }
            return false
        }
    }

    /// The items a `for` loop, `in`, `list` or `join` goes through: a list's
    /// items, a dictionary's keys, a string's characters; undefined is empty.
    func iterated(for operation: String) throws(JinjaError) -> [JinjaValue] {
        switch self {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .dictionary(let dictionary): return dictionary.entries.map(\.key)
        case .string(let text): return text.unicodeScalars.map { .string(String($0)) }
        default: throw JinjaError("'\(typeName)' object is not iterable (in \(operation))")
        }
    }
}

/// A dictionary that keeps insertion order, as Python's does. Lookups are
/// linear: template dictionaries (messages, tool calls) have a few keys.
struct JinjaDictionary {
    typealias Entry = (key: JinjaValue, value: JinjaValue)

    private(set) var entries: [Entry]

    init() {
        entries = []
    }

    /// A dictionary of `pairs`, whose keys must differ.
    init(_ pairs: [(String, JinjaValue)]) {
        entries = pairs.map { (JinjaValue.string($0.0), $0.1) }
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    subscript(key: JinjaValue) -> JinjaValue? {
        get { entries.first { $0.key.isEqual(to: key) }?.value }
        set {
            let index = entries.firstIndex { $0.key.isEqual(to: key) }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].value = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append((key, value))
            case (nil, nil): break
            }
        }
    }

    subscript(key: String) -> JinjaValue? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }
}

/// `namespace(...)`: the one mutable object, which `{% set ns.attribute = … %}`
/// changes so that a loop can carry state out of its scope.
final class JinjaNamespace {
    var attributes: JinjaDictionary

    init(_ attributes: JinjaDictionary) {
        self.attributes = attributes
    }
}

/// Where a `for` loop is: what `loop.index`, `loop.last` … read. Computed
/// on access, since most loops never look.
struct JinjaLoopState {
    let index: Int
    let items: [JinjaValue]

    /// `loop.name`, or nil for a name the loop object does not have.
    func attribute(_ name: String) -> JinjaValue? {
        switch name {
        case "index": .integer(index + 1)
        case "index0": .integer(index)
        case "revindex": .integer(items.count - index)
        case "revindex0": .integer(items.count - index - 1)
        case "first": .boolean(index == 0)
        case "last": .boolean(index == items.count - 1)
        case "length": .integer(items.count)
        case "previtem": index > 0 ? items[index - 1] : nil
        case "nextitem": index + 1 < items.count ? items[index + 1] : nil
        case "cycle": .function(.loopCycle(index))
        default: nil
        }
    }
}

/// Something a template can call.
indirect enum JinjaFunction {
    /// A global function (`range`, `namespace`, `raise_exception` …).
    case global(String)
    /// A method of a string, list or dictionary (`content.strip`), bound to it.
    case method(JinjaValue, String)
    case macro(JinjaMacro)
    /// A loop's `loop.cycle`, bound to the current index.
    case loopCycle(Int)

    var name: String {
        switch self {
        case .global(let name), .method(_, let name): name
        case .macro(let macro): macro.name
        case .loopCycle: "cycle"
        }
    }
}

// Values live only while one rendering runs, on one thread, and hold the
// mutable JinjaNamespace. Saying so explicitly also spares the compiler from
// inferring Sendable through these mutually recursive types, an inference
// that can fail as a "circular reference" in incremental builds.
@available(*, unavailable) extension JinjaValue: Sendable {}
@available(*, unavailable) extension JinjaDictionary: Sendable {}
@available(*, unavailable) extension JinjaFunction: Sendable {}
@available(*, unavailable) extension JinjaLoopState: Sendable {}
