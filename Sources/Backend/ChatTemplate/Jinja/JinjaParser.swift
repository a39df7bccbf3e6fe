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
    var depth = 0
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

    // MARK: - Token stream

    var current: JinjaToken { tokens[index] }
    var peek: JinjaToken { tokens[min(index + 1, tokens.count - 1)] }

    mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    mutating func enter() throws(JinjaError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw JinjaError("template nests deeper than \(Self.maximumDepth) levels", at: current.location)
        }
    }

    mutating func expect(_ kind: JinjaToken.Kind, _ description: String) throws(JinjaError) {
        guard current.kind == kind else {
            throw JinjaError("expected \(description), found \(Self.describe(current))", at: current.location)
        }
        advance()
    }

    mutating func expectSymbol(_ symbol: String) throws(JinjaError) {
        try expect(.symbol(symbol), "'\(symbol)'")
    }

    mutating func expectName() throws(JinjaError) -> String {
        guard case .name(let name) = current.kind else {
            throw JinjaError("expected a name, found \(Self.describe(current))", at: current.location)
        }
        advance()
        return name
    }

    static func describe(_ token: JinjaToken) -> String {
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
