/// The expression half of ``JinjaParser``: precedence climbing from the
/// conditional expression down to primaries, their postfixes, filters and tests.
extension JinjaParser {
    /// An expression, or several separated by commas (a tuple).
    mutating func parseTuple(allowConditional: Bool) throws(JinjaError) -> JinjaExpression {
        let first = try parseExpression(allowConditional: allowConditional)
        guard current.isSymbol(",") else { return first }
        var items = [first]
        while current.isSymbol(",") {
            advance()
            if current.kind == .blockEnd { break }
            items.append(try parseExpression(allowConditional: allowConditional))
        }
        return JinjaExpression(kind: .tuple(items), location: first.location)
    }

    mutating func parseExpression(allowConditional: Bool = true) throws(JinjaError) -> JinjaExpression {
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

    mutating func parseOr() throws(JinjaError) -> JinjaExpression {
        var left = try parseAnd()
        while current.isName("or") {
            advance()
            left = JinjaExpression(kind: .binary(.or, left, try parseAnd()), location: left.location)
        }
        return left
    }

    mutating func parseAnd() throws(JinjaError) -> JinjaExpression {
        var left = try parseNot()
        while current.isName("and") {
            advance()
            left = JinjaExpression(kind: .binary(.and, left, try parseNot()), location: left.location)
        }
        return left
    }

    mutating func parseNot() throws(JinjaError) -> JinjaExpression {
        guard current.isName("not") else { return try parseComparison() }
        let location = current.location
        advance()
        try enter()
        defer { depth -= 1 }
        return JinjaExpression(kind: .not(try parseNot()), location: location)
    }

    static let comparisonSymbols: [String: JinjaBinaryOperator] = [
        "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    /// Comparisons chain as in Python: `a < b < c` is `a < b and b < c`.
    mutating func parseComparison() throws(JinjaError) -> JinjaExpression {
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

    mutating func parseAdditive() throws(JinjaError) -> JinjaExpression {
        var left = try parseConcatenation()
        while current.isSymbol("+") || current.isSymbol("-") {
            let operation: JinjaBinaryOperator = current.isSymbol("+") ? .add : .subtract
            advance()
            left = JinjaExpression(kind: .binary(operation, left, try parseConcatenation()), location: left.location)
        }
        return left
    }

    mutating func parseConcatenation() throws(JinjaError) -> JinjaExpression {
        var left = try parseMultiplicative()
        while current.isSymbol("~") {
            advance()
            left = JinjaExpression(kind: .binary(.concatenate, left, try parseMultiplicative()), location: left.location)
        }
        return left
    }

    mutating func parseMultiplicative() throws(JinjaError) -> JinjaExpression {
        var left = try parsePower()
        while case .symbol(let symbol) = current.kind, let operation = [
            "*": JinjaBinaryOperator.multiply, "/": .divide, "//": .floorDivide, "%": .modulo,
        ][symbol] {
            advance()
            left = JinjaExpression(kind: .binary(operation, left, try parsePower()), location: left.location)
        }
        return left
    }

    mutating func parsePower() throws(JinjaError) -> JinjaExpression {
        var left = try parseUnary()
        while current.isSymbol("**") {
            advance()
            left = JinjaExpression(kind: .binary(.power, left, try parseUnary()), location: left.location)
        }
        return left
    }

    mutating func parseUnary(withFilters: Bool = true) throws(JinjaError) -> JinjaExpression {
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

    mutating func parsePrimary() throws(JinjaError) -> JinjaExpression {
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
                return JinjaExpression(kind: .tuple([]), location: token.location)
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
            return JinjaExpression(kind: .tuple(items), location: token.location)
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

    mutating func parsePostfix(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
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
    mutating func parseSubscript(of base: JinjaExpression, at location: JinjaSourceLocation) throws(JinjaError) -> JinjaExpression {
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
    mutating func parseArguments() throws(JinjaError) -> JinjaArguments {
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

    mutating func parseFiltersAndTests(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
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

    func startsTestArgument(_ token: JinjaToken) -> Bool {
        switch token.kind {
        case .name(let name): return !["else", "or", "and", "if", "is", "in", "not"].contains(name)
        case .string, .integer, .double: return true
        case .symbol(let symbol): return symbol == "(" || symbol == "[" || symbol == "{"
        default: return false
        }
    }

    mutating func parseDottedName() throws(JinjaError) -> String {
        var name = try expectName()
        while current.isSymbol("."), case .name(let part) = peek.kind {
            advance()
            advance()
            name += "." + part
        }
        return name
    }
}
