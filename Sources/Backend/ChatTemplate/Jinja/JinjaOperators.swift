import Foundation

/// Arithmetic, concatenation, comparison and membership with Python's rules:
/// `int` arithmetic stays integral (and fails on overflow instead of
/// wrapping), `/` always gives a `float`, `//` and `%` round toward negative
/// infinity, `+` joins strings or lists, `*` repeats them, `~` joins the
/// `str()` of anything. Undefined operands fail, except with `~`.
enum JinjaOperators {
    static func apply(
        _ operation: JinjaBinaryOperator, _ left: JinjaValue, _ right: JinjaValue, renderer: JinjaRenderer
    ) throws(JinjaError) -> JinjaValue {
        switch operation {
        case .concatenate:
            let joined = left.text + right.text
            try renderer.checkSize(joined.utf8.count)
            return .string(joined)
        case .equal: return .boolean(left.isEqual(to: right))
        case .notEqual: return .boolean(!left.isEqual(to: right))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            return .boolean(try compare(operation, left, right))
        case .contains: return .boolean(try contains(right, left))
        case .notContains: return .boolean(!(try contains(right, left)))
        case .and, .or:
            preconditionFailure("'and' and 'or' short-circuit in the renderer")
        default:
            try requireDefined(left, right, operation)
            return try arithmetic(operation, left, right, renderer: renderer)
        }
    }

    static func negate(_ value: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch value {
        case .integer(let integer) where integer != .min: return .integer(-integer)
        case .boolean(let flag): return .integer(flag ? -1 : 0)
        case .double(let double): return .double(-double)
        default: throw JinjaError("bad operand type for unary -: '\(value.typeName)'")
        }
    }

    private static func requireDefined(_ left: JinjaValue, _ right: JinjaValue, _ operation: JinjaBinaryOperator) throws(JinjaError) {
        for case .undefined(let name) in [left, right] {
            throw JinjaError("'\(name)' is undefined (operand of '\(operation.rawValue)')")
        }
    }

    private static func arithmetic(
        _ operation: JinjaBinaryOperator, _ left: JinjaValue, _ right: JinjaValue, renderer: JinjaRenderer
    ) throws(JinjaError) -> JinjaValue {
        switch (operation, left, right) {
        case (.add, .string(let a), .string(let b)):
            try renderer.checkSize(a.utf8.count + b.utf8.count)
            return .string(a + b)
        case (.add, .list(let a), .list(let b)):
            try renderer.checkItems(a.count + b.count)
            return .list(a + b)
        case (.add, .tuple(let a), .tuple(let b)):
            try renderer.checkItems(a.count + b.count)
            return .tuple(a + b)
        case (.multiply, .string(let text), _), (.multiply, _, .string(let text)):
            guard let count = (left.integer ?? right.integer) else { break }
            if text.isEmpty || count <= 0 { return .string("") }
            try renderer.checkSize(text.utf8.count * min(count, Int(Int32.max)))
            return .string(String(repeating: text, count: count))
        case (.multiply, .list(let items), _), (.multiply, _, .list(let items)),
            (.multiply, .tuple(let items), _), (.multiply, _, .tuple(let items)):
            guard let count = (left.integer ?? right.integer) else { break }
            let isTuple = if case .tuple = left { true } else if case .tuple = right { true } else { false }
            var repeated: [JinjaValue] = []
            if !items.isEmpty, count > 0 {
                try renderer.checkItems(items.count * min(count, Int(Int32.max)))
                repeated = Array([[JinjaValue]](repeating: items, count: count).joined())
            }
            return isTuple ? .tuple(repeated) : .list(repeated)
        default:
            if let a = left.integer, let b = right.integer { return try integerArithmetic(operation, a, b) }
            if let a = left.number, let b = right.number { return try floatArithmetic(operation, a, b) }
        }
        throw JinjaError("unsupported operand types for \(operation.rawValue): '\(left.typeName)' and '\(right.typeName)'")
    }

    private static func integerArithmetic(_ operation: JinjaBinaryOperator, _ a: Int, _ b: Int) throws(JinjaError) -> JinjaValue {
        let overflow = JinjaError("integer overflow in \(operation.rawValue)")
        switch operation {
        case .add:
            let (sum, overflowed) = a.addingReportingOverflow(b)
            if overflowed { throw overflow }
            return .integer(sum)
        case .subtract:
            let (difference, overflowed) = a.subtractingReportingOverflow(b)
            if overflowed { throw overflow }
            return .integer(difference)
        case .multiply:
            let (product, overflowed) = a.multipliedReportingOverflow(by: b)
            if overflowed { throw overflow }
            return .integer(product)
        case .divide:
            guard b != 0 else { throw JinjaError("division by zero") }
            return .double(Double(a) / Double(b))
        case .floorDivide, .modulo:
            guard b != 0 else { throw JinjaError("integer division or modulo by zero") }
            if a == .min, b == -1 { throw overflow }
            var quotient = a / b
            var remainder = a % b
            if remainder != 0, (remainder < 0) != (b < 0) {
                quotient -= 1
                remainder += b
            }
            return .integer(operation == .floorDivide ? quotient : remainder)
        case .power:
            guard b >= 0 else { return .double(Foundation.pow(Double(a), Double(b))) }
            var result = 1
            for _ in 0..<min(b, 64) {
                let (product, overflowed) = result.multipliedReportingOverflow(by: a)
                if overflowed { throw overflow }
                result = product
            }
            // Past 64 factors only 0, 1 and -1 stay in range.
            if b > 64, abs(a) > 1 { throw overflow }
            if b > 64, a == -1 { return .integer(b % 2 == 0 ? 1 : -1) }
            return .integer(result)
        default:
            preconditionFailure("not an arithmetic operator: \(operation)")
        }
    }

    private static func floatArithmetic(_ operation: JinjaBinaryOperator, _ a: Double, _ b: Double) throws(JinjaError) -> JinjaValue {
        switch operation {
        case .add: return .double(a + b)
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide:
            guard b != 0 else { throw JinjaError("float division by zero") }
            return .double(a / b)
        case .floorDivide:
            guard b != 0 else { throw JinjaError("float floor division by zero") }
            return .double((a / b).rounded(.down))
        case .modulo:
            guard b != 0 else { throw JinjaError("float modulo by zero") }
            let remainder = a.truncatingRemainder(dividingBy: b)
            return .double(remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder)
        case .power: return .double(Foundation.pow(a, b))
        default: preconditionFailure("not an arithmetic operator: \(operation)")
        }
    }

    /// `<`, `<=`, `>`, `>=` between numbers, strings (by code point) or lists.
    static func compare(_ operation: JinjaBinaryOperator, _ left: JinjaValue, _ right: JinjaValue) throws(JinjaError) -> Bool {
        guard let order = try order(left, right) else {
            throw JinjaError("'\(operation.rawValue)' not supported between '\(left.typeName)' and '\(right.typeName)'")
        }
        switch operation {
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        default: return order >= 0
        }
    }

    /// -1, 0 or 1; nil when the two cannot be ordered.
    static func order(_ left: JinjaValue, _ right: JinjaValue) throws(JinjaError) -> Int? {
        switch (left, right) {
        case (.string(let a), .string(let b)):
            if a.unicodeScalars.elementsEqual(b.unicodeScalars) { return 0 }
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !x.isEqual(to: y) {
                return try order(x, y)
            }
            return a.count == b.count ? 0 : a.count < b.count ? -1 : 1
        default:
            if let a = left.integer, let b = right.integer { return a == b ? 0 : a < b ? -1 : 1 }
            guard let a = left.number, let b = right.number, !a.isNaN, !b.isNaN else { return nil }
            return a == b ? 0 : a < b ? -1 : 1
        }
    }

    /// `needle in container`: a substring, a list item or a dictionary key.
    static func contains(_ container: JinjaValue, _ needle: JinjaValue) throws(JinjaError) -> Bool {
        switch container {
        case .string(let text):
            guard case .string(let part) = needle else {
                throw JinjaError("'in <string>' requires a string on the left, not '\(needle.typeName)'")
            }
            return containsScalars(text, part)
        case .list(let items), .tuple(let items): return items.contains { $0.isEqual(to: needle) }
        case .dictionary(let dictionary): return dictionary[needle] != nil
        case .namespace(let namespace): return namespace.attributes[needle] != nil
        case .undefined: return false  // Jinja's Undefined iterates as empty
        default: throw JinjaError("argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// Substring search by code points (Swift's `contains` compares
    /// characters, so a combining mark would hide a match Python finds).
    private static func containsScalars(_ text: String, _ part: String) -> Bool {
        let haystack = Array(text.unicodeScalars)
        let needle = Array(part.unicodeScalars)
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }
}
