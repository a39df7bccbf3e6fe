/// Python's string operations, by code point as Python counts them (Swift's
/// `Character`s are grapheme clusters, which would change lengths, indices
/// and what `strip` removes).
enum JinjaStrings {
    /// Python's `str.isspace()` for one code point.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// `str.strip(chars)`, `lstrip` and `rstrip`; without `characters`, whitespace.
    static func strip(_ text: String, _ characters: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let scalars = Array(text.unicodeScalars)
        let set = characters.map { Set($0.unicodeScalars) }
        func removable(_ scalar: Unicode.Scalar) -> Bool { set?.contains(scalar) ?? isWhitespace(scalar) }
        var start = 0
        var end = scalars.count
        if leading { while start < end, removable(scalars[start]) { start += 1 } }
        if trailing { while end > start, removable(scalars[end - 1]) { end -= 1 } }
        return string(scalars[start..<end])
    }

    /// `str.split(separator, maxsplit)`; without a separator, on runs of
    /// whitespace with empty pieces dropped.
    static func split(_ text: String, _ separator: String?, maximum: Int = -1) throws(JinjaError) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        guard let separator else {
            var index = 0
            while index < scalars.count {
                while index < scalars.count, isWhitespace(scalars[index]) { index += 1 }
                guard index < scalars.count else { break }
                if maximum >= 0, pieces.count == maximum {
                    var end = scalars.count
                    while end > index, isWhitespace(scalars[end - 1]) { end -= 1 }
                    pieces.append(string(scalars[index..<end]))
                    break
                }
                let start = index
                while index < scalars.count, !isWhitespace(scalars[index]) { index += 1 }
                pieces.append(string(scalars[start..<index]))
            }
            return pieces
        }
        let needle = Array(separator.unicodeScalars)
        guard !needle.isEmpty else { throw JinjaError("empty separator") }
        var start = 0
        var index = 0
        while index + needle.count <= scalars.count {
            if maximum >= 0, pieces.count == maximum { break }
            if scalars[index..<index + needle.count].elementsEqual(needle) {
                pieces.append(string(scalars[start..<index]))
                index += needle.count
                start = index
            } else {
                index += 1
            }
        }
        pieces.append(string(scalars[start...]))
        return pieces
    }

    /// At least the bytes `replace(text, old, new)` can produce, computed
    /// before building it.
    static func replacementBound(_ text: String, _ old: String, _ new: String) -> Int {
        let occurrences = old.isEmpty ? text.unicodeScalars.count + 1 : text.utf8.count / old.utf8.count
        let (grown, overflowed) = occurrences.multipliedReportingOverflow(by: new.utf8.count)
        return overflowed ? .max : grown &+ text.utf8.count
    }

    /// `str.replace(old, new, count)`.
    static func replace(_ text: String, _ old: String, _ new: String, count: Int = -1) -> String {
        let scalars = Array(text.unicodeScalars)
        let needle = Array(old.unicodeScalars)
        var result = String.UnicodeScalarView()
        var replaced = 0
        var index = 0
        if needle.isEmpty {
            // Python inserts `new` before every code point and at the end.
            for scalar in scalars {
                if count < 0 || replaced < count {
                    result.append(contentsOf: new.unicodeScalars)
                    replaced += 1
                }
                result.append(scalar)
            }
            if count < 0 || replaced < count { result.append(contentsOf: new.unicodeScalars) }
            return String(result)
        }
        while index < scalars.count {
            if count < 0 || replaced < count, index + needle.count <= scalars.count,
                scalars[index..<index + needle.count].elementsEqual(needle)
            {
                result.append(contentsOf: new.unicodeScalars)
                index += needle.count
                replaced += 1
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        return String(result)
    }

    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        text.unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
        text.unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed())
    }

    /// `str.find(part)`: the code-point offset of the first match, or -1.
    static func find(_ text: String, _ part: String) -> Int {
        let haystack = Array(text.unicodeScalars)
        let needle = Array(part.unicodeScalars)
        guard needle.count <= haystack.count else { return -1 }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return -1
    }

    /// `str.title()`: a cased letter after an uncased character is upper
    /// case, others lower (`they're` gives `They'Re`).
    static func pythonTitle(_ text: String) -> String {
        var result = ""
        var previousCased = false
        for scalar in text.unicodeScalars {
            let piece = String(scalar)
            result += previousCased ? piece.lowercased() : piece.uppercased()
            previousCased = scalar.properties.isCased
        }
        return result
    }

    /// Jinja's `title` filter: words begin after whitespace, `-`, `(`, `{`,
    /// `[` or `<` (`they're` gives `They're`).
    static func jinjaTitle(_ text: String) -> String {
        var result = ""
        var atWordStart = true
        for scalar in text.unicodeScalars {
            let isBoundary = isWhitespace(scalar) || "-({[<".unicodeScalars.contains(scalar)
            let piece = String(scalar)
            result += isBoundary ? piece : atWordStart ? piece.uppercased() : piece.lowercased()
            atWordStart = isBoundary
        }
        return result
    }

    /// `str.capitalize()`: the first code point upper case, the rest lower.
    static func capitalize(_ text: String) -> String {
        guard let first = text.unicodeScalars.first else { return text }
        return String(first).uppercased() + String(String.UnicodeScalarView(text.unicodeScalars.dropFirst())).lowercased()
    }

    static func count(_ text: String) -> Int { text.unicodeScalars.count }

    /// `str.format(*positional, **keyword)` for `{}`, `{0}` and `{name}`
    /// fields (no conversions or format specifications), `{{` and `}}`.
    static func format(_ template: String, _ positional: [JinjaValue], _ keyword: [(name: String, value: JinjaValue)]) throws(JinjaError) -> String {
        var result = ""
        var automatic = 0
        var scalars = template.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            if scalar == "}" {
                guard scalars.next() == "}" else { throw JinjaError("format: single '}' in format string") }
                result += "}"
                continue
            }
            guard scalar == "{" else {
                result.unicodeScalars.append(scalar)
                continue
            }
            var field = ""
            var closed = false
            while let next = scalars.next() {
                if next == "{", field.isEmpty {
                    break  // "{{": a literal brace
                }
                if next == "}" {
                    closed = true
                    break
                }
                field.unicodeScalars.append(next)
            }
            if !closed, field.isEmpty {
                result += "{"
                continue
            }
            guard closed, !field.contains(":"), !field.contains("!") else {
                throw JinjaError("format: unsupported field '{\(field)'")
            }
            let value: JinjaValue?
            if field.isEmpty {
                value = automatic < positional.count ? positional[automatic] : nil
                automatic += 1
            } else if let index = Int(field) {
                value = index >= 0 && index < positional.count ? positional[index] : nil
            } else {
                value = keyword.first { $0.name == field }?.value
            }
            guard let value else { throw JinjaError("format: no argument for field '{\(field)}'") }
            result += value.text
        }
        return result
    }

    /// Jinja's `format` filter, Python's `%` formatting: `%s`, `%d`, `%i`,
    /// `%r` and `%%`.
    static func printf(_ template: String, _ arguments: [JinjaValue]) throws(JinjaError) -> String {
        var result = ""
        var remaining = arguments[...]
        var scalars = template.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "%" else {
                result.unicodeScalars.append(scalar)
                continue
            }
            let directive = scalars.next()
            if directive == "%" {
                result += "%"
                continue
            }
            guard let argument = remaining.popFirst() else { throw JinjaError("format: not enough arguments") }
            switch directive {
            case "s": result += argument.text
            case "r": result += argument.representation
            case "d", "i":
                guard let number = argument.number, number.isFinite, abs(number) < 9.2e18 else {
                    throw JinjaError("format: %d needs a number, not '\(argument.typeName)'")
                }
                result += String(argument.integer ?? Int(number))
            default:
                throw JinjaError("format: unsupported directive '%\(directive.map { String($0) } ?? "")'")
            }
        }
        guard remaining.isEmpty else { throw JinjaError("format: not all arguments converted") }
        return result
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
