import Foundation

/// Splits template source into ``JinjaToken``s, applying whitespace control
/// the way Hugging Face transformers and llama.cpp configure Jinja:
/// `trim_blocks` (the first newline after a block or comment tag is dropped)
/// and `lstrip_blocks` (spaces and tabs before a block or comment tag at the
/// start of a line are dropped), plus the explicit `-` and `+` modifiers
/// (`{%-`, `-%}`, `{%+`, `+%}` …).
///
/// Works on UTF-8 bytes: every delimiter and operator is ASCII, and text is
/// cut only at ASCII positions, so each slice is valid UTF-8.
struct JinjaLexer {
    private let bytes: [UInt8]
    private var position = 0
    private var tokens: [JinjaToken] = []
    /// Offsets at which each line starts, to turn offsets into locations.
    private let lineStarts: [Int]
    private var lastLocation: (offset: Int, location: JinjaSourceLocation)?

    init(_ source: String) {
        // As Jinja's lexer: newlines normalized to "\n", and one final newline
        // dropped (`keep_trailing_newline` is off).
        var normalized = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if normalized.hasSuffix("\n") { normalized.removeLast() }
        bytes = Array(normalized.utf8)
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(offset + 1)
        }
        lineStarts = starts
    }

    /// The tokens of the whole source, ending with ``JinjaToken/Kind/end``.
    static func tokenize(_ source: String) throws(JinjaError) -> [JinjaToken] {
        var lexer = JinjaLexer(source)
        return try lexer.run()
    }

    private mutating func run() throws(JinjaError) -> [JinjaToken] {
        /// Set by a `-` closing modifier: strip whitespace at the start of the next text.
        var stripNextText = false
        while position < bytes.count {
            let textStart = position
            let tagStart = nextTagStart(from: position) ?? bytes.count
            var textEnd = tagStart
            var start = textStart
            if stripNextText {
                while start < textEnd, Self.isWhitespace(bytes[start]) { start += 1 }
                stripNextText = false
            }
            if tagStart < bytes.count {
                let opener = bytes[tagStart + 1]
                let modifier = tagStart + 2 < bytes.count ? bytes[tagStart + 2] : 0
                if modifier == UInt8(ascii: "-") {
                    while textEnd > start, Self.isWhitespace(bytes[textEnd - 1]) { textEnd -= 1 }
                } else if modifier != UInt8(ascii: "+"), opener != UInt8(ascii: "{") {
                    textEnd = lstripBlock(textStart: start, tagStart: textEnd)
                }
            }
            if start < textEnd {
                append(.text(String(decoding: bytes[start..<textEnd], as: UTF8.self)), at: start)
            }
            guard tagStart < bytes.count else { break }
            position = tagStart
            stripNextText = try lexTag()
        }
        append(.end, at: bytes.count)
        return tokens
    }

    /// The offset of the next `{{`, `{%` or `{#` at or after `offset`.
    private func nextTagStart(from offset: Int) -> Int? {
        var index = offset
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "{") {
                let next = bytes[index + 1]
                if next == UInt8(ascii: "{") || next == UInt8(ascii: "%") || next == UInt8(ascii: "#") {
                    return index
                }
            }
            index += 1
        }
        return nil
    }

    /// `lstrip_blocks`: where text before a block tag ends once the spaces and
    /// tabs between the last line start and the tag are removed. As in Jinja,
    /// the text must contain a newline or itself start a line.
    private func lstripBlock(textStart: Int, tagStart: Int) -> Int {
        var index = tagStart
        while index > textStart, bytes[index - 1] == UInt8(ascii: " ") || bytes[index - 1] == UInt8(ascii: "\t") {
            index -= 1
        }
        let atLineStart = index == 0 || bytes[index - 1] == UInt8(ascii: "\n")
        return atLineStart ? index : tagStart
    }

    /// Lexes the tag at `position`; returns whether it ends with `-` (strip
    /// the whitespace after it).
    private mutating func lexTag() throws(JinjaError) -> Bool {
        let tagStart = position
        let opener = bytes[position + 1]
        position += 2
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
            position += 1
        }
        switch opener {
        case UInt8(ascii: "#"):
            return try skipComment(from: tagStart)
        case UInt8(ascii: "{"):
            append(.expressionStart, at: tagStart)
            return try lexExpression(closer: UInt8(ascii: "}"), opened: tagStart)
        default:
            let firstToken = tokens.count
            append(.blockStart, at: tagStart)
            let strip = try lexExpression(closer: UInt8(ascii: "%"), opened: tagStart)
            if tokens.count == firstToken + 3, tokens[firstToken + 1].isName("raw") {
                tokens.removeLast(3)
                return try lexRaw(from: tagStart, strippedBefore: strip)
            }
            return strip
        }
    }

    /// Skips `{# … #}`; returns whether it ended with `-#}`.
    private mutating func skipComment(from tagStart: Int) throws(JinjaError) -> Bool {
        while position + 1 < bytes.count {
            if bytes[position] == UInt8(ascii: "#"), bytes[position + 1] == UInt8(ascii: "}") {
                let modifier = bytes[position - 1]
                position += 2
                return finishTag(modifier: modifier, trims: true)
            }
            position += 1
        }
        throw JinjaError("unterminated comment", at: location(of: tagStart))
    }

    /// After a closing delimiter: `-` strips what follows (returns true);
    /// a block or comment tag without `+` drops one following newline.
    private mutating func finishTag(modifier: UInt8, trims: Bool) -> Bool {
        if modifier == UInt8(ascii: "-") { return true }
        if trims, modifier != UInt8(ascii: "+"), position < bytes.count, bytes[position] == UInt8(ascii: "\n") {
            position += 1
        }
        return false
    }

    /// `{% raw %}…{% endraw %}`: the text between, untouched.
    private mutating func lexRaw(from tagStart: Int, strippedBefore: Bool) throws(JinjaError) -> Bool {
        var start = position
        if strippedBefore {
            while start < bytes.count, Self.isWhitespace(bytes[start]) { start += 1 }
        }
        var search = start
        while let candidate = nextTagStart(from: search) {
            var index = candidate + 2
            let leftModifier = index < bytes.count ? bytes[index] : 0
            if leftModifier == UInt8(ascii: "-") || leftModifier == UInt8(ascii: "+") { index += 1 }
            while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
            let keyword = Array("endraw".utf8)
            if bytes[candidate + 1] == UInt8(ascii: "%"), index + keyword.count <= bytes.count,
                Array(bytes[index..<index + keyword.count]) == keyword
            {
                index += keyword.count
                while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
                var rightModifier: UInt8 = 0
                if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                    rightModifier = bytes[index]
                    index += 1
                }
                if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "%"), bytes[index + 1] == UInt8(ascii: "}") {
                    var end = candidate
                    if leftModifier == UInt8(ascii: "-") {
                        while end > start, Self.isWhitespace(bytes[end - 1]) { end -= 1 }
                    }
                    if start < end { append(.text(String(decoding: bytes[start..<end], as: UTF8.self)), at: start) }
                    position = index + 2
                    return finishTag(modifier: rightModifier, trims: true)
                }
            }
            search = candidate + 1
        }
        throw JinjaError("'raw' block is never closed by 'endraw'", at: location(of: tagStart))
    }

    /// Lexes the inside of `{{ … }}` or `{% … %}` up to its closer (`}}` or
    /// `%}`, found only outside brackets, so `{{ {'a': {}} }}` works).
    /// Returns whether the closer had a `-`.
    private mutating func lexExpression(closer: UInt8, opened tagStart: Int) throws(JinjaError) -> Bool {
        var brackets: [UInt8] = []
        while true {
            while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
            guard position < bytes.count else {
                let what = closer == UInt8(ascii: "}") ? "'}}'" : "'%}'"
                throw JinjaError("tag is never closed (expected \(what))", at: location(of: tagStart))
            }
            let byte = bytes[position]
            let next = position + 1 < bytes.count ? bytes[position + 1] : 0
            let afterNext = position + 2 < bytes.count ? bytes[position + 2] : 0
            if brackets.isEmpty {
                if byte == closer, next == UInt8(ascii: "}") {
                    position += 2
                    append(closer == UInt8(ascii: "}") ? .expressionEnd : .blockEnd, at: position - 2)
                    return finishTag(modifier: 0, trims: closer == UInt8(ascii: "%"))
                }
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+"), next == closer, afterNext == UInt8(ascii: "}") {
                    position += 3
                    append(closer == UInt8(ascii: "}") ? .expressionEnd : .blockEnd, at: position - 3)
                    return finishTag(modifier: byte, trims: closer == UInt8(ascii: "%"))
                }
            }
            let start = position
            if Self.isIdentifierStart(byte) {
                while position < bytes.count, Self.isIdentifierStart(bytes[position]) || Self.isDigit(bytes[position]) {
                    position += 1
                }
                append(.name(String(decoding: bytes[start..<position], as: UTF8.self)), at: start)
            } else if Self.isDigit(byte) {
                try lexNumber()
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                try lexString(quote: byte)
            } else {
                try lexSymbol(&brackets)
            }
        }
    }

    private mutating func lexNumber() throws(JinjaError) {
        let start = position
        var isDouble = false
        while position < bytes.count, Self.isDigit(bytes[position]) || bytes[position] == UInt8(ascii: "_") { position += 1 }
        if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "."), Self.isDigit(bytes[position + 1]) {
            isDouble = true
            position += 1
            while position < bytes.count, Self.isDigit(bytes[position]) || bytes[position] == UInt8(ascii: "_") { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            var index = position + 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            if index < bytes.count, Self.isDigit(bytes[index]) {
                isDouble = true
                position = index
                while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
            }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self).replacingOccurrences(of: "_", with: "")
        if isDouble, let value = Double(text) {
            append(.double(value), at: start)
        } else if let value = Int(text) {
            append(.integer(value), at: start)
        } else {
            throw JinjaError("number '\(text)' is out of range", at: location(of: start))
        }
    }

    /// A quoted string with Python's escapes (`\n`, `\t`, `\\`, `\'`, `\"`,
    /// `\xNN`, `\uNNNN`, `\UNNNNNNNN`); unknown escapes stay as written.
    private mutating func lexString(quote: UInt8) throws(JinjaError) {
        let start = position
        position += 1
        var content: [UInt8] = []
        while position < bytes.count, bytes[position] != quote {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\"), position + 1 < bytes.count else {
                content.append(byte)
                position += 1
                continue
            }
            let escaped = bytes[position + 1]
            position += 2
            switch escaped {
            case UInt8(ascii: "n"): content.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "t"): content.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "r"): content.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "0"): content.append(0)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): content.append(escaped)
            case UInt8(ascii: "\n"): break  // a backslash-newline continues the line
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let digits = escaped == UInt8(ascii: "x") ? 2 : escaped == UInt8(ascii: "u") ? 4 : 8
                guard position + digits <= bytes.count,
                    let code = UInt32(String(decoding: bytes[position..<position + digits], as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else {
                    throw JinjaError("malformed \\\(Character(Unicode.Scalar(escaped))) escape in string", at: location(of: position - 2))
                }
                content.append(contentsOf: Array(String(Character(scalar)).utf8))
                position += digits
            default:
                content.append(UInt8(ascii: "\\"))
                content.append(escaped)
            }
        }
        guard position < bytes.count else {
            throw JinjaError("unterminated string", at: location(of: start))
        }
        position += 1
        append(.string(String(decoding: content, as: UTF8.self)), at: start)
    }

    private static let twoCharacterSymbols: Set<String> = ["//", "**", "==", "!=", "<=", ">="]
    private static let oneCharacterSymbols: Set<UInt8> = Set("+-*/%~()[]{},.:|=<>".utf8)

    private mutating func lexSymbol(_ brackets: inout [UInt8]) throws(JinjaError) {
        let start = position
        if position + 1 < bytes.count {
            let pair = String(decoding: bytes[position..<position + 2], as: UTF8.self)
            if Self.twoCharacterSymbols.contains(pair) {
                position += 2
                append(.symbol(pair), at: start)
                return
            }
        }
        let byte = bytes[position]
        guard Self.oneCharacterSymbols.contains(byte) else {
            let character = String(decoding: bytes[position..<min(position + 4, bytes.count)], as: UTF8.self).prefix(1)
            throw JinjaError("unexpected character '\(character)'", at: location(of: start))
        }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
            brackets.append(byte)
        case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
            let expected: UInt8 = byte == UInt8(ascii: ")") ? UInt8(ascii: "(") : byte == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
            guard brackets.last == expected else {
                throw JinjaError("unexpected '\(Character(Unicode.Scalar(byte)))'", at: location(of: start))
            }
            brackets.removeLast()
        default:
            break
        }
        position += 1
        append(.symbol(String(Character(Unicode.Scalar(byte)))), at: start)
    }

    private mutating func append(_ kind: JinjaToken.Kind, at offset: Int) {
        let location = location(of: offset)
        tokens.append(JinjaToken(kind: kind, location: location))
    }

    /// The line and column of byte `offset`; columns count code points, as
    /// Python does. Scans on from the previous answer when it can, since
    /// tokens come in order (a long one-line template stays linear).
    private mutating func location(of offset: Int) -> JinjaSourceLocation {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        var scanned = lineStarts[low]
        var column = 1
        if let last = lastLocation, last.location.line == low + 1, last.offset <= offset {
            scanned = last.offset
            column = last.location.column
        }
        for index in scanned..<min(offset, bytes.count) where bytes[index] & 0xC0 != 0x80 {
            column += 1
        }
        let location = JinjaSourceLocation(line: low + 1, column: column)
        lastLocation = (offset, location)
        return location
    }

    /// Python's `\s` for ASCII: space, tab, newline, carriage return, vertical tab, form feed.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || byte == UInt8(ascii: "_")
    }
}
