import Foundation

/// Executes a parsed template against a context, producing its text.
///
/// Scoping follows Jinja: a `for` loop's body (each iteration afresh) and a
/// macro's body get their own scope, so `set` inside them does not leak out;
/// `if` shares its surroundings. A `namespace()` object carries state across.
/// One renderer renders once; it is not shared between threads.
final class JinjaRenderer {
    private let limits: JinjaLimits
    /// What `strftime_now` formats.
    let now: Date
    let timeZone: TimeZone
    /// Innermost last; the first holds the context and top-level `set`s.
    private var scopes: [[String: JinjaValue]]
    private var output = ""
    private var steps = 0
    private var depth = 0
    private var callDepth = 0

    /// How a sequence of statements ended.
    private enum Flow {
        case normal, breakLoop, continueLoop
    }

    init(context: [String: JinjaValue], limits: JinjaLimits, now: Date, timeZone: TimeZone) {
        self.scopes = [context]
        self.limits = limits
        self.now = now
        self.timeZone = timeZone
    }

    func render(_ statements: [JinjaStatement]) throws(JinjaError) -> String {
        let flow = try execute(statements)
        guard flow == .normal else {
            throw JinjaError("'\(flow == .breakLoop ? "break" : "continue")' outside a loop")
        }
        return output
    }

    // MARK: - Statements

    private func execute(_ statements: [JinjaStatement]) throws(JinjaError) -> Flow {
        for statement in statements {
            let flow: Flow
            do {
                flow = try execute(statement)
            } catch {
                throw error.located(at: statement.location)
            }
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ statement: JinjaStatement) throws(JinjaError) -> Flow {
        try step()
        try enter()
        defer { depth -= 1 }
        switch statement.kind {
        case .text(let text):
            try write(text)
        case .output(let expression):
            try write(try evaluate(expression).text)
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition).isTruthy {
                return try execute(branch.body)
            }
            return try execute(otherwise)
        case .loop(let loop):
            try run(loop)
        case .assignment(let target, let expression):
            try assign(try evaluate(expression), to: target)
        case .blockAssignment(let name, let body):
            let rendered = try capture { () throws(JinjaError) in
                if try execute(body) != .normal { throw JinjaError("'break' or 'continue' outside a loop") }
            }
            define(name, .string(rendered))
        case .macro(let macro):
            define(macro.name, .function(.macro(macro)))
        case .filterBlock(let filters, let body):
            var value = JinjaValue.string(try capture { () throws(JinjaError) in
                if try execute(body) != .normal { throw JinjaError("'break' or 'continue' inside a filter block") }
            })
            for filter in filters {
                value = try JinjaFilters.apply(filter.name, to: value, try evaluate(filter.arguments), renderer: self)
            }
            try write(value.text)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func run(_ loop: JinjaLoop) throws(JinjaError) {
        let iterable = try evaluate(loop.iterable)
        var items = try iterable.iterated(for: "for loop")
        if let filter = loop.filter {
            var kept: [JinjaValue] = []
            for item in items {
                scopes.append(try bind(loop.targets, to: item))
                defer { scopes.removeLast() }
                if try evaluate(filter).isTruthy { kept.append(item) }
            }
            items = kept
        }
        guard !items.isEmpty else {
            scopes.append([:])
            defer { scopes.removeLast() }
            if try execute(loop.otherwise) != .normal { throw JinjaError("'break' or 'continue' outside a loop") }
            return
        }
        for (index, item) in items.enumerated() {
            try step()  // an empty body still costs its iterations
            var frame = try bind(loop.targets, to: item)
            frame["loop"] = .loop(JinjaLoopState(index: index, items: items))
            scopes.append(frame)
            let flow = try execute(loop.body)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
    }

    /// A scope binding `targets` to `item`, unpacking it when there are several.
    private func bind(_ targets: [String], to item: JinjaValue) throws(JinjaError) -> [String: JinjaValue] {
        guard targets.count > 1 else { return [targets[0]: item] }
        let values = try item.iterated(for: "unpacking")
        guard values.count == targets.count else {
            throw JinjaError("cannot unpack \(values.count) values into \(targets.count) names")
        }
        var frame: [String: JinjaValue] = [:]
        for (name, value) in zip(targets, values) { frame[name] = value }
        return frame
    }

    private func assign(_ value: JinjaValue, to target: JinjaAssignmentTarget) throws(JinjaError) {
        switch target {
        case .name(let name):
            define(name, value)
        case .names(let names):
            for (name, item) in try bind(names, to: value) { define(name, item) }
        case .attribute(let name, let attribute):
            guard case .namespace(let namespace) = lookup(name) else {
                throw JinjaError("cannot assign attribute '\(attribute)' on '\(name)', which is not a namespace")
            }
            namespace.attributes[.string(attribute)] = value
        }
    }

    private func define(_ name: String, _ value: JinjaValue) {
        scopes[scopes.count - 1][name] = value
    }

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return JinjaGlobals.names.contains(name) ? .function(.global(name)) : .undefined(name)
    }

    private func write(_ text: String) throws(JinjaError) {
        output += text
        if output.utf8.count > limits.maximumOutputBytes {
            throw JinjaError("output exceeds \(limits.maximumOutputBytes) bytes")
        }
    }

    /// Renders `body` into a string of its own (block `set`, macro calls).
    private func capture(_ body: () throws(JinjaError) -> Void) throws(JinjaError) -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    /// Counts one unit of work against the budget.
    func step() throws(JinjaError) {
        steps += 1
        if steps > limits.maximumSteps {
            throw JinjaError("template exceeded \(limits.maximumSteps) steps (runaway loop?)")
        }
    }

    /// One level deeper into the template; the caller undoes it with `depth -= 1`.
    private func enter() throws(JinjaError) {
        depth += 1
        if depth > limits.maximumDepth {
            throw JinjaError("template evaluation nests deeper than \(limits.maximumDepth) levels")
        }
    }

    /// Fails when a string the template builds is larger than any output may be.
    func checkSize(_ byteCount: Int) throws(JinjaError) {
        if byteCount > limits.maximumOutputBytes {
            throw JinjaError("string exceeds \(limits.maximumOutputBytes) bytes")
        }
    }

    /// The `str()` of `items` joined by `separator`, failing as soon as it
    /// grows beyond the output limit.
    func join(_ items: [JinjaValue], separator: String) throws(JinjaError) -> String {
        var joined = ""
        for (position, item) in items.enumerated() {
            if position > 0 { joined += separator }
            joined += item.text
            try checkSize(joined.utf8.count)
        }
        return joined
    }

    /// Fails when a list the template builds has too many items.
    func checkItems(_ count: Int) throws(JinjaError) {
        if count > limits.maximumItems {
            throw JinjaError("list exceeds \(limits.maximumItems) items")
        }
    }

    // MARK: - Expressions

    func evaluate(_ expression: JinjaExpression) throws(JinjaError) -> JinjaValue {
        do {
            try step()
            try enter()
            defer { depth -= 1 }
            return try evaluateKind(expression.kind)
        } catch {
            throw error.located(at: expression.location)
        }
    }

    private func evaluateKind(_ kind: JinjaExpression.Kind) throws(JinjaError) -> JinjaValue {
        switch kind {
        case .none: return .none
        case .boolean(let value): return .boolean(value)
        case .integer(let value): return .integer(value)
        case .double(let value): return .double(value)
        case .string(let value): return .string(value)
        case .name(let name): return lookup(name)
        case .list(let items):
            var values: [JinjaValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .list(values)
        case .tuple(let items):
            var values: [JinjaValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .tuple(values)
        case .dictionary(let entries):
            var dictionary = JinjaDictionary()
            for entry in entries { dictionary[try evaluate(entry.key)] = try evaluate(entry.value) }
            return .dictionary(dictionary)
        case .attribute(let base, let name):
            return try JinjaAccess.attribute(name, of: try evaluate(base))
        case .item(let base, let index):
            return try JinjaAccess.item(try evaluate(index), of: try evaluate(base))
        case .slice(let base, let start, let stop, let step):
            return try JinjaAccess.slice(
                try evaluate(base), start: try start.map(evaluate), stop: try stop.map(evaluate), step: try step.map(evaluate))
        case .call(let callee, let arguments):
            return try call(try evaluate(callee), try evaluate(arguments))
        case .filter(let base, let name, let arguments):
            return try JinjaFilters.apply(name, to: try evaluate(base), try evaluate(arguments), renderer: self)
        case .test(let base, let name, let arguments, let negated):
            let result = try JinjaTests.apply(name, to: try evaluate(base), try evaluate(arguments))
            return .boolean(result != negated)
        case .not(let operand):
            return .boolean(!(try evaluate(operand).isTruthy))
        case .negate(let operand):
            return try JinjaOperators.negate(try evaluate(operand))
        case .binary(.and, let left, let right):
            let value = try evaluate(left)
            return value.isTruthy ? try evaluate(right) : value
        case .binary(.or, let left, let right):
            let value = try evaluate(left)
            return value.isTruthy ? value : try evaluate(right)
        case .binary(let operation, let left, let right):
            return try JinjaOperators.apply(operation, try evaluate(left), try evaluate(right), renderer: self)
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined("conditional without else")
        }
    }

    private func evaluate(_ arguments: JinjaArguments) throws(JinjaError) -> JinjaCallArguments {
        var result = JinjaCallArguments()
        for argument in arguments.positional { result.positional.append(try evaluate(argument)) }
        for argument in arguments.keyword { result.keyword.append((argument.name, try evaluate(argument.value))) }
        return result
    }

    /// Calls a function value: a global, a bound method, a macro or `loop.cycle`.
    func call(_ callee: JinjaValue, _ arguments: JinjaCallArguments) throws(JinjaError) -> JinjaValue {
        guard case .function(let function) = callee else {
            if case .undefined(let name) = callee { throw JinjaError("'\(name)' is undefined") }
            throw JinjaError("'\(callee.typeName)' object is not callable")
        }
        switch function {
        case .global(let name):
            return try JinjaGlobals.call(name, arguments, renderer: self)
        case .method(let receiver, let name):
            return try JinjaMethods.call(name, on: receiver, arguments, renderer: self)
        case .loopCycle(let index):
            guard !arguments.positional.isEmpty else { throw JinjaError("loop.cycle() needs at least one value") }
            return arguments.positional[index % arguments.positional.count]
        case .macro(let macro):
            return try call(macro, arguments)
        }
    }

    private func call(_ macro: JinjaMacro, _ arguments: JinjaCallArguments) throws(JinjaError) -> JinjaValue {
        guard arguments.positional.count <= macro.parameters.count else {
            throw JinjaError("macro '\(macro.name)' takes \(macro.parameters.count) arguments, got \(arguments.positional.count)")
        }
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= limits.maximumCallDepth else {
            throw JinjaError("macro calls nest deeper than \(limits.maximumCallDepth)")
        }
        let savedScopes = scopes
        defer { scopes = savedScopes }
        // A macro sees the template's top level and its own parameters, not the caller's locals.
        scopes = [savedScopes[0], [:]]
        for (position, parameter) in macro.parameters.enumerated() {
            if position < arguments.positional.count {
                define(parameter.name, arguments.positional[position])
            } else if let value = arguments.keyword.first(where: { $0.name == parameter.name })?.value {
                define(parameter.name, value)
            } else if let defaultValue = parameter.defaultValue {
                define(parameter.name, try evaluate(defaultValue))
            } else {
                define(parameter.name, .undefined(parameter.name))
            }
        }
        for keyword in arguments.keyword where !macro.parameters.contains(where: { $0.name == keyword.name }) {
            throw JinjaError("macro '\(macro.name)' has no parameter '\(keyword.name)'")
        }
        let rendered = try capture { () throws(JinjaError) in
            if try execute(macro.body) != .normal { throw JinjaError("'break' or 'continue' outside a loop") }
        }
        return .string(rendered)
    }
}

/// Evaluated arguments of a call, filter or test.
struct JinjaCallArguments {
    var positional: [JinjaValue] = []
    var keyword: [(name: String, value: JinjaValue)] = []

    /// The argument at `position`, or else the keyword argument `name`.
    func value(_ position: Int, _ name: String) -> JinjaValue? {
        if position < positional.count { return positional[position] }
        return keyword.first { $0.name == name }?.value
    }
}
