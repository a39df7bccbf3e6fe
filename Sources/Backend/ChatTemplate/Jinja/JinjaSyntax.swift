/// An expression of the template language, with where it starts in the source.
struct JinjaExpression: Sendable {
    indirect enum Kind: Sendable {
        case none
        case boolean(Bool)
        case integer(Int)
        case double(Double)
        case string(String)
        /// A variable (or global such as `range`).
        case name(String)
        /// `[a, b]`
        case list([JinjaExpression])
        /// `(a, b)`, or `a, b` where a tuple may stand unparenthesized.
        case tuple([JinjaExpression])
        case dictionary([(key: JinjaExpression, value: JinjaExpression)])
        /// `object.name`
        case attribute(JinjaExpression, String)
        /// `object[index]`
        case item(JinjaExpression, JinjaExpression)
        /// `object[start:stop:step]`
        case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?)
        case call(JinjaExpression, JinjaArguments)
        /// `value | name(arguments)`
        case filter(JinjaExpression, name: String, JinjaArguments)
        /// `value is [not] name(arguments)`
        case test(JinjaExpression, name: String, JinjaArguments, negated: Bool)
        case not(JinjaExpression)
        case negate(JinjaExpression)
        case binary(JinjaBinaryOperator, JinjaExpression, JinjaExpression)
        /// `then if condition else otherwise`; without `else` the result is undefined.
        case conditional(then: JinjaExpression, condition: JinjaExpression, otherwise: JinjaExpression?)
    }

    var kind: Kind
    var location: JinjaSourceLocation
}

/// Positional and keyword arguments of a call, filter or test.
struct JinjaArguments: Sendable {
    var positional: [JinjaExpression] = []
    var keyword: [(name: String, value: JinjaExpression)] = []

    static let empty = JinjaArguments()
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//"
    case modulo = "%", power = "**", concatenate = "~"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
    case and, or
}

/// A statement: a piece of output or a tag.
struct JinjaStatement: Sendable {
    indirect enum Kind: Sendable {
        case text(String)
        /// `{{ expression }}`
        case output(JinjaExpression)
        /// `{% if %}…{% elif %}…{% else %}…{% endif %}`
        case conditional(branches: [(condition: JinjaExpression, body: [JinjaStatement])], otherwise: [JinjaStatement])
        /// `{% for targets in iterable if filter %}…{% else %}…{% endfor %}`
        case loop(JinjaLoop)
        /// `{% set target = value %}`
        case assignment(JinjaAssignmentTarget, JinjaExpression)
        /// `{% set name %}body{% endset %}`
        case blockAssignment(String, [JinjaStatement])
        /// `{% macro name(parameters) %}…{% endmacro %}`
        case macro(JinjaMacro)
        /// `{% filter name(arguments) | … %}body{% endfilter %}`: the body's
        /// text through the filters.
        case filterBlock([(name: String, arguments: JinjaArguments)], [JinjaStatement])
        case breakLoop
        case continueLoop
    }

    var kind: Kind
    var location: JinjaSourceLocation
}

struct JinjaLoop: Sendable {
    /// One name, or several to unpack each item (`for key, value in …`).
    var targets: [String]
    var iterable: JinjaExpression
    var filter: JinjaExpression?
    var body: [JinjaStatement]
    var otherwise: [JinjaStatement]
}

enum JinjaAssignmentTarget: Sendable {
    case name(String)
    /// `set a, b = pair`
    case names([String])
    /// `set namespace.attribute = value`
    case attribute(String, String)
}

struct JinjaMacro: Sendable {
    var name: String
    var parameters: [(name: String, defaultValue: JinjaExpression?)]
    var body: [JinjaStatement]
}
