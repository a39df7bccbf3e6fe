/// Jinja's tests, `value is name(arguments)`.
enum JinjaTests {
    static func apply(_ name: String, to value: JinjaValue, _ arguments: JinjaCallArguments) throws(JinjaError) -> Bool {
        func argument() throws(JinjaError) -> JinjaValue {
            guard let first = arguments.positional.first else { throw JinjaError("test '\(name)' needs an argument") }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none":
            if case .none = value { return true } else { return false }
        case "boolean":
            if case .boolean = value { return true } else { return false }
        case "true":
            if case .boolean(true) = value { return true } else { return false }
        case "false":
            if case .boolean(false) = value { return true } else { return false }
        case "integer":
            if case .integer = value { return true } else { return false }
        case "float":
            if case .double = value { return true } else { return false }
        case "number": return value.number != nil
        case "string":
            if case .string = value { return true } else { return false }
        case "mapping":
            if case .dictionary = value { return true } else { return false }
        case "iterable", "sequence":
            // Jinja's Undefined is iterable (as empty) and has a length.
            switch value {
            case .string, .list, .tuple, .dictionary, .undefined: return true
            default: return false
            }
        case "callable":
            if case .function = value { return true } else { return false }
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none): return true
            case (.boolean(let a), .boolean(let b)): return a == b
            default: return false
            }
        case "equalto", "eq", "==": return value.isEqual(to: try argument())
        case "ne", "!=": return !value.isEqual(to: try argument())
        case "lt", "lessthan", "<": return try JinjaOperators.compare(.less, value, try argument())
        case "le", "<=": return try JinjaOperators.compare(.lessOrEqual, value, try argument())
        case "gt", "greaterthan", ">": return try JinjaOperators.compare(.greater, value, try argument())
        case "ge", ">=": return try JinjaOperators.compare(.greaterOrEqual, value, try argument())
        case "in": return try JinjaOperators.contains(try argument(), value)
        case "divisibleby":
            guard let a = value.integer, let b = try argument().integer, b != 0 else {
                throw JinjaError("divisibleby needs integers and a nonzero divisor")
            }
            return a % b == 0
        case "odd", "even":
            guard let integer = value.integer else { throw JinjaError("test '\(name)' needs an integer") }
            return (integer % 2 == 0) == (name == "even")
        case "lower":
            return value.text == value.text.lowercased() && value.text != value.text.uppercased()
        case "upper":
            return value.text == value.text.uppercased() && value.text != value.text.lowercased()
        default:
            throw JinjaError("unknown test '\(name)'")
        }
    }
}
