/// Builds the statements of a template from its tokens, by recursive descent
/// with Jinja's operator precedence, lowest first: `x if c else y`, `or`,
/// `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary
/// `-`, then a primary with its postfixes (`.a`, `[i]`, `(…)`) and its filters
/// and tests (`| f`, `is t`), which therefore bind tighter than any operator:
/// `'a' + x | trim` trims only `x`.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0
    /// Nesting of expressions and blocks, bounded so that hostile input
    /// (`((((…`) is an error instead of a stack overflow.
    private var depth = 0
    static let maximumDepth = 100

    private init(tokens: [JinjaToken]) {
        self.tokens = tokens
    }

    /// Parses a whole template.
    static func parse(_ source: String) throws(JinjaError) -> [JinjaStatement] {
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source))
        let (statements, closer) = try parser.parseStatements(until: [])
        if let closer {
            throw JinjaError("unexpected '\(closer.name)' tag", at: closer.location)
        }
        return statements
    }

    // MARK: - Statements

    /// Parses statements up to a block tag named in `closers` (consumed up to
    /// and including its name), or up to the end of the source.
    private mutating func parseStatements(
        until closers: Set<String>
    ) throws(JinjaError) -> ([JinjaStatement], (name: String, location: JinjaSourceLocation)?) {
        try enter()
        defer { depth -= 1 }
        var statements: [JinjaStatement] = []
        while true {
            let token = current
            switch token.kind {
            case .end:
                return (statements, nil)
            case .text(let text):
                advance()
                statements.append(JinjaStatement(kind: .text(text), location: token.location))
            case .expressionStart:
                advance()
                let expression = try parseExpression()
                try expect(.expressionEnd, "'}}'")
                statements.append(JinjaStatement(kind: .output(expression), location: token.location))
            case .blockStart:
                advance()
                guard case .name(let keyword) = current.kind else {
                    throw JinjaError("expected a tag name after '{%'", at: current.location)
                }
                let location = current.location
                if closers.contains(keyword) {
                    advance()
                    return (statements, (keyword, location))
                }
                if let statement = try parseTag(keyword, at: location) {
                    statements.append(statement)
                } else {
                    // A tag whose statements are inlined (`generation`).
                    let (body, _) = try parseBody(until: ["endgeneration"], opening: keyword, at: location)
                    try expect(.blockEnd, "'%}'")
                    statements.append(contentsOf: body)
                }
            default:
                throw JinjaError("unexpected token", at: token.location)
            }
        }
    }

    /// Parses the tag `keyword` after `{%`; nil for a tag that only groups
    /// statements.
    private mutating func parseTag(_ keyword: String, at location: JinjaSourceLocation) throws(JinjaError) -> JinjaStatement? {
        advance()
        switch keyword {
        case "if":
            return try parseIf(at: location)
        case "for":
            return try parseFor(at: location)
        case "set":
            return try parseSet(at: location)
        case "macro":
            return try parseMacro(at: location)
        case "filter":
            return try parseFilterBlock(at: location)
        case "break", "continue":
            try expect(.blockEnd, "'%}'")
            return JinjaStatement(kind: keyword == "break" ? .breakLoop : .continueLoop, location: location)
        case "generation":
            // Hugging Face's marker of assistant text for training masks; it
            // renders its content unchanged.
            try expect(.blockEnd, "'%}'")
            return nil
        case "elif", "else", "endif", "endfor", "endset", "endmacro", "endfilter", "endgeneration":
            throw JinjaError("unexpected '\(keyword)' tag", at: location)
        default:
            throw JinjaError("unsupported tag '\(keyword)'", at: location)
        }
    }

    /// The statements up to one of `closers`, with the closer's name.
    private mutating func parseBody(
        until closers: Set<String>, opening: String, at location: JinjaSourceLocation
    ) throws(JinjaError) -> ([JinjaStatement], String) {
        let (body, closer) = try parseStatements(until: closers)
        guard let closer else {
            let expected = closers.sorted().map { "'\($0)'" }.joined(separator: " or ")
            throw JinjaError("'\(opening)' tag is never closed (expected \(expected))", at: location)
        }
        return (body, closer.name)
    }

    private mutating func parseIf(at location: JinjaSourceLocation) throws(JinjaError) -> JinjaStatement {
        var branches: [(condition: JinjaExpression, body: [JinjaStatement])] = []
        var otherwise: [JinjaStatement] = []
        var condition = try parseExpression(allowConditional: false)
        while true {
            try expect(.blockEnd, "'%}'")
            let (body, closer) = try parseBody(until: ["elif", "else", "endif"], opening: "if", at: location)
            branches.append((condition, body))
            if closer == "elif" {
                condition = try parseExpression(allowConditional: false)
                continue
            }
            if closer == "else" {
                try expect(.blockEnd, "'%}'")
                (otherwise, _) = try parseBody(until: ["endif"], opening: "if", at: location)
            }
            try expect(.blockEnd, "'%}'")
            return JinjaStatement(kind: .conditional(branches: branches, otherwise: otherwise), location: location)
        }
    }

    private mutating func parseFor(at location: JinjaSourceLocation) throws(JinjaError) -> JinjaStatement {
        var targets: [String] = []
        let parenthesized = current.isSymbol("(")
        if parenthesized { advance() }
        repeat {
            if !targets.isEmpty { advance() }  // the comma
            targets.append(try expectName())
        } while current.isSymbol(",")
        if parenthesized { try expectSymbol(")") }
        guard current.isName("in") else {
            throw JinjaError("expected 'in' in 'for' tag", at: current.location)
        }
        advance()
        let iterable = try parseTuple(allowConditional: false)
        var filter: JinjaExpression?
        if current.isName("if") {
            advance()
            filter = try parseExpression()
        }
        if current.isName("recursive") {
            throw JinjaError("recursive loops are not supported", at: current.location)
        }
        try expect(.blockEnd, "'%}'")
        let (body, closer) = try parseBody(until: ["else", "endfor"], opening: "for", at: location)
        var otherwise: [JinjaStatement] = []
        if closer == "else" {
            try expect(.blockEnd, "'%}'")
            (otherwise, _) = try parseBody(until: ["endfor"], opening: "for", at: location)
        }
        try expect(.blockEnd, "'%}'")
        let loop = JinjaLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
        return JinjaStatement(kind: .loop(loop), location: location)
    }

    private mutating func parseSet(at location: JinjaSourceLocation) throws(JinjaError) -> JinjaStatement {
        let first = try expectName()
        var target = JinjaAssignmentTarget.name(first)
        if current.isSymbol(".") {
            advance()
            target = .attribute(first, try expectName())
        } else if current.isSymbol(",") {
            var names = [first]
            while current.isSymbol(",") {
                advance()
                names.append(try expectName())
            }
            target = .names(names)
        }
        if current.kind == .blockEnd, case .name(let name) = target {
            advance()
            let (body, _) = try parseBody(until: ["endset"], opening: "set", at: location)
            try expect(.blockEnd, "'%}'")
            return JinjaStatement(kind: .blockAssignment(name, body), location: location)
        }
        try expectSymbol("=")
        let value = try parseTuple(allowConditional: true)
        try expect(.blockEnd, "'%}'")
        return JinjaStatement(kind: .assignment(target, value), location: location)
    }

    private mutating func parseMacro(at location: JinjaSourceLocation) throws(JinjaError) -> JinjaStatement {
        let name = try expectName()
        try expectSymbol("(")
        var parameters: [(name: String, defaultValue: JinjaExpression?)] = []
        while !current.isSymbol(")") {
            if !parameters.isEmpty { try expectSymbol(",") }
            let parameter = try expectName()
            var defaultValue: JinjaExpression?
            if current.isSymbol("=") {
                advance()
                defaultValue = try parseExpression()
            }
            parameters.append((parameter, defaultValue))
        }
        advance()
        try expect(.blockEnd, "'%}'")
        let (body, _) = try parseBody(until: ["endmacro"], opening: "macro", at: location)
        try expect(.blockEnd, "'%}'")
        return JinjaStatement(kind: .macro(JinjaMacro(name: name, parameters: parameters, body: body)), location: location)
    }

    private mutating func parseFilterBlock(at location: JinjaSourceLocation) throws(JinjaError) -> JinjaStatement {
        var filters: [(name: String, arguments: JinjaArguments)] = []
        repeat {
            if !filters.isEmpty { advance() }  // the '|'
            let name = try parseDottedName()
            filters.append((name, current.isSymbol("(") ? try parseArguments() : .empty))
        } while current.isSymbol("|")
        try expect(.blockEnd, "'%}'")
        let (body, _) = try parseBody(until: ["endfilter"], opening: "filter", at: location)
        try expect(.blockEnd, "'%}'")
        return JinjaStatement(kind: .filterBlock(filters, body), location: location)
    }

    // MARK: - Expressions

    /// An expression, or several separated by commas (a tuple, kept as a list).
    private mutating func parseTuple(allowConditional: Bool) throws(JinjaError) -> JinjaExpression {
        let first = try parseExpression(allowConditional: allowConditional)
        guard current.isSymbol(",") else { return first }
        var items = [first]
        while current.isSymbol(",") {
            advance()
            if current.kind == .blockEnd { break }
            items.append(try parseExpression(allowConditional: allowConditional))
        }
        return JinjaExpression(kind: .list(items), location: first.location)
    }

    private mutating func parseExpression(allowConditional: Bool = true) throws(JinjaError) -> JinjaExpression {
        try enter()
        defer { depth -= 1 }
        var expression = try parseOr()
        while allowConditional, current.isName("if") {
            advance()
            let condition = try parseOr()
            var otherwise: JinjaExpression?
            if current.isName("else") {
                advance()
                otherwise = try parseExpression()
            }
            expression = JinjaExpression(
                kind: .conditional(then: expression, condition: condition, otherwise: otherwise), location: expression.location)
        }
        return expression
    }

    private mutating func parseOr() throws(JinjaError) -> JinjaExpression {
        var left = try parseAnd()
        while current.isName("or") {
            advance()
            left = JinjaExpression(kind: .binary(.or, left, try parseAnd()), location: left.location)
        }
        return left
    }

    private mutating func parseAnd() throws(JinjaError) -> JinjaExpression {
        var left = try parseNot()
        while current.isName("and") {
            advance()
            left = JinjaExpression(kind: .binary(.and, left, try parseNot()), location: left.location)
        }
        return left
    }

    private mutating func parseNot() throws(JinjaError) -> JinjaExpression {
        guard current.isName("not") else { return try parseComparison() }
        let location = current.location
        advance()
        try enter()
        defer { depth -= 1 }
        return JinjaExpression(kind: .not(try parseNot()), location: location)
    }

    private static let comparisonSymbols: [String: JinjaBinaryOperator] = [
        "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    /// Comparisons chain as in Python: `a < b < c` is `a < b and b < c`.
    private mutating func parseComparison() throws(JinjaError) -> JinjaExpression {
        let first = try parseAdditive()
        var result: JinjaExpression?
        var left = first
        while true {
            var comparison: JinjaBinaryOperator
            if case .symbol(let symbol) = current.kind, let found = Self.comparisonSymbols[symbol] {
                comparison = found
                advance()
            } else if current.isName("in") {
                comparison = .contains
                advance()
            } else if current.isName("not"), peek.isName("in") {
                comparison = .notContains
                advance()
                advance()
            } else {
                break
            }
            let right = try parseAdditive()
            let link = JinjaExpression(kind: .binary(comparison, left, right), location: left.location)
            result = result.map { JinjaExpression(kind: .binary(.and, $0, link), location: first.location) } ?? link
            left = right
        }
        return result ?? first
    }

    private mutating func parseAdditive() throws(JinjaError) -> JinjaExpression {
        var left = try parseConcatenation()
        while current.isSymbol("+") || current.isSymbol("-") {
            let operation: JinjaBinaryOperator = current.isSymbol("+") ? .add : .subtract
            advance()
            left = JinjaExpression(kind: .binary(operation, left, try parseConcatenation()), location: left.location)
        }
        return left
    }

    private mutating func parseConcatenation() throws(JinjaError) -> JinjaExpression {
        var left = try parseMultiplicative()
        while current.isSymbol("~") {
            advance()
            left = JinjaExpression(kind: .binary(.concatenate, left, try parseMultiplicative()), location: left.location)
        }
        return left
    }

    private mutating func parseMultiplicative() throws(JinjaError) -> JinjaExpression {
        var left = try parsePower()
        while case .symbol(let symbol) = current.kind, let operation = [
            "*": JinjaBinaryOperator.multiply, "/": .divide, "//": .floorDivide, "%": .modulo,
        ][symbol] {
            advance()
            left = JinjaExpression(kind: .binary(operation, left, try parsePower()), location: left.location)
        }
        return left
    }

    private mutating func parsePower() throws(JinjaError) -> JinjaExpression {
        var left = try parseUnary()
        while current.isSymbol("**") {
            advance()
            left = JinjaExpression(kind: .binary(.power, left, try parseUnary()), location: left.location)
        }
        return left
    }

    private mutating func parseUnary(withFilters: Bool = true) throws(JinjaError) -> JinjaExpression {
        try enter()
        defer { depth -= 1 }
        let location = current.location
        var expression: JinjaExpression
        if current.isSymbol("-") {
            advance()
            expression = JinjaExpression(kind: .negate(try parseUnary(withFilters: false)), location: location)
        } else if current.isSymbol("+") {
            advance()
            expression = try parseUnary(withFilters: false)
        } else {
            expression = try parsePrimary()
        }
        expression = try parsePostfix(expression)
        return withFilters ? try parseFiltersAndTests(expression) : expression
    }

    private mutating func parsePrimary() throws(JinjaError) -> JinjaExpression {
        let token = current
        advance()
        switch token.kind {
        case .name(let name):
            switch name {
            case "true", "True": return JinjaExpression(kind: .boolean(true), location: token.location)
            case "false", "False": return JinjaExpression(kind: .boolean(false), location: token.location)
            case "none", "None": return JinjaExpression(kind: .none, location: token.location)
            default: return JinjaExpression(kind: .name(name), location: token.location)
            }
        case .string(var text):
            // Adjacent literals join, as in Python: 'a' "b" is "ab".
            while case .string(let more) = current.kind {
                text += more
                advance()
            }
            return JinjaExpression(kind: .string(text), location: token.location)
        case .integer(let value):
            return JinjaExpression(kind: .integer(value), location: token.location)
        case .double(let value):
            return JinjaExpression(kind: .double(value), location: token.location)
        case .symbol("("):
            if current.isSymbol(")") {
                advance()
                return JinjaExpression(kind: .list([]), location: token.location)
            }
            let inner = try parseExpression()
            if current.isSymbol(")") {
                advance()
                return inner
            }
            var items = [inner]
            while current.isSymbol(",") {
                advance()
                if current.isSymbol(")") { break }
                items.append(try parseExpression())
            }
            try expectSymbol(")")
            return JinjaExpression(kind: .list(items), location: token.location)
        case .symbol("["):
            var items: [JinjaExpression] = []
            while !current.isSymbol("]") {
                if !items.isEmpty {
                    try expectSymbol(",")
                    if current.isSymbol("]") { break }
                }
                items.append(try parseExpression())
            }
            advance()
            return JinjaExpression(kind: .list(items), location: token.location)
        case .symbol("{"):
            var entries: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !current.isSymbol("}") {
                if !entries.isEmpty {
                    try expectSymbol(",")
                    if current.isSymbol("}") { break }
                }
                let key = try parseExpression()
                try expectSymbol(":")
                entries.append((key, try parseExpression()))
            }
            advance()
            return JinjaExpression(kind: .dictionary(entries), location: token.location)
        default:
            throw JinjaError("expected an expression", at: token.location)
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
        var expression = base
        while true {
            let location = current.location
            if current.isSymbol(".") {
                advance()
                switch current.kind {
                case .name(let name):
                    advance()
                    expression = JinjaExpression(kind: .attribute(expression, name), location: location)
                case .integer(let value):
                    advance()
                    expression = JinjaExpression(
                        kind: .item(expression, JinjaExpression(kind: .integer(value), location: location)), location: location)
                default:
                    throw JinjaError("expected an attribute name after '.'", at: current.location)
                }
            } else if current.isSymbol("[") {
                advance()
                expression = try parseSubscript(of: expression, at: location)
            } else if current.isSymbol("(") {
                expression = JinjaExpression(kind: .call(expression, try parseArguments()), location: location)
            } else {
                return expression
            }
        }
    }

    /// `[index]` or `[start:stop:step]`, after the `[`.
    private mutating func parseSubscript(of base: JinjaExpression, at location: JinjaSourceLocation) throws(JinjaError) -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var isSlice = false
        while !current.isSymbol("]") {
            if current.isSymbol(":") {
                guard parts.count < 3 else { throw JinjaError("a slice takes at most three parts", at: current.location) }
                isSlice = true
                parts.append(nil)
                advance()
            } else {
                guard parts[parts.count - 1] == nil else { throw JinjaError("expected ']'", at: current.location) }
                parts[parts.count - 1] = try parseExpression()
            }
        }
        advance()
        if !isSlice {
            guard let index = parts[0] else { throw JinjaError("expected an index inside '[]'", at: location) }
            return JinjaExpression(kind: .item(base, index), location: location)
        }
        while parts.count < 3 { parts.append(nil) }
        return JinjaExpression(kind: .slice(base, start: parts[0], stop: parts[1], step: parts[2]), location: location)
    }

    /// `(a, b, name=c)`, starting at the `(`.
    private mutating func parseArguments() throws(JinjaError) -> JinjaArguments {
        try expectSymbol("(")
        var arguments = JinjaArguments()
        var first = true
        while !current.isSymbol(")") {
            if !first {
                try expectSymbol(",")
                if current.isSymbol(")") { break }
            }
            first = false
            if case .name(let name) = current.kind, peek.isSymbol("=") {
                advance()
                advance()
                arguments.keyword.append((name, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else {
                    throw JinjaError("positional argument after keyword argument", at: current.location)
                }
                arguments.positional.append(try parseExpression())
            }
        }
        advance()
        return arguments
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
        var expression = base
        while true {
            let location = current.location
            if current.isSymbol("|") {
                advance()
                let name = try parseDottedName()
                let arguments = current.isSymbol("(") ? try parseArguments() : .empty
                expression = JinjaExpression(kind: .filter(expression, name: name, arguments), location: location)
            } else if current.isName("is") {
                advance()
                var negated = false
                if current.isName("not") {
                    negated = true
                    advance()
                }
                let name = try parseDottedName()
                var arguments = JinjaArguments.empty
                if current.isSymbol("(") {
                    arguments = try parseArguments()
                } else if startsTestArgument(current) {
                    // `x is divisibleby 3`, `x is sameas false`: one bare argument.
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expression = JinjaExpression(kind: .test(expression, name: name, arguments, negated: negated), location: location)
            } else {
                return expression
            }
        }
    }

    private func startsTestArgument(_ token: JinjaToken) -> Bool {
        switch token.kind {
        case .name(let name): return !["else", "or", "and", "if", "is", "in", "not"].contains(name)
        case .string, .integer, .double: return true
        case .symbol(let symbol): return symbol == "(" || symbol == "[" || symbol == "{"
        default: return false
        }
    }

    private mutating func parseDottedName() throws(JinjaError) -> String {
        var name = try expectName()
        while current.isSymbol("."), case .name(let part) = peek.kind {
            advance()
            advance()
            name += "." + part
        }
        return name
    }

    // MARK: - Token stream

    private var current: JinjaToken { tokens[index] }
    private var peek: JinjaToken { tokens[min(index + 1, tokens.count - 1)] }

    private mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    private mutating func enter() throws(JinjaError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw JinjaError("template nests deeper than \(Self.maximumDepth) levels", at: current.location)
        }
    }

    private mutating func expect(_ kind: JinjaToken.Kind, _ description: String) throws(JinjaError) {
        guard current.kind == kind else {
            throw JinjaError("expected \(description), found \(Self.describe(current))", at: current.location)
        }
        advance()
    }

    private mutating func expectSymbol(_ symbol: String) throws(JinjaError) {
        try expect(.symbol(symbol), "'\(symbol)'")
    }

    private mutating func expectName() throws(JinjaError) -> String {
        guard case .name(let name) = current.kind else {
            throw JinjaError("expected a name, found \(Self.describe(current))", at: current.location)
        }
        advance()
        return name
    }

    private static func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .text: "text"
        case .expressionStart: "'{{'"
        case .expressionEnd: "'}}'"
        case .blockStart: "'{%'"
        case .blockEnd: "'%}'"
        case .name(let name): "'\(name)'"
        case .string: "a string"
        case .integer(let value): "'\(value)'"
        case .double(let value): "'\(value)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "the end of the template"
        }
    }
}
