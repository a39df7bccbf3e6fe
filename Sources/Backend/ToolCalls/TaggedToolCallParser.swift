/// Calls written between an opening and a closing tag, as Qwen 2.5 and
/// Hermes write `<tool_call>{"name": …, "arguments": {…}}</tool_call>`,
/// one tag pair per call, with text allowed before, between and after.
struct TaggedToolCallParser: ToolCallParser {
    let opening: String
    let closing: String
    private var buffer = ""
    private var insideCall = false
    private var sawCall = false
    /// Whitespace after a call, held until text follows it (then it is
    /// text) or a call or the end does (then it only separated calls).
    private var pendingWhitespace = ""
    /// How many UTF-8 bytes at the start of `buffer` are known to hold no
    /// closing tag: each piece is searched once, not the whole call again
    /// (this runs on an event loop, once per generated token).
    private var searchedBytes = 0

    init(opening: String = "<tool_call>", closing: String = "</tool_call>") {
        self.opening = opening
        self.closing = closing
    }

    mutating func feed(_ text: String) -> [ToolCallOutput] {
        buffer += text
        var output: [ToolCallOutput] = []
        while true {
            if insideCall {
                let from = max(0, searchedBytes - closing.utf8.count + 1)
                var start = buffer.utf8.index(buffer.utf8.startIndex, offsetBy: from)
                // Back to the start of a character, if the offset fell inside one.
                while start.samePosition(in: buffer.unicodeScalars) == nil { start = buffer.utf8.index(before: start) }
                guard let end = buffer[start...].range(of: closing) else {
                    searchedBytes = buffer.utf8.count
                    break
                }
                output += callOrText(buffer[..<end.lowerBound], closed: true)
                buffer = String(buffer[end.upperBound...])
                insideCall = false
                searchedBytes = 0
            } else if let start = buffer.range(of: opening) {
                output += content(String(buffer[..<start.lowerBound]))
                buffer = String(buffer[start.upperBound...])
                insideCall = true
                searchedBytes = 0
            } else {
                let held = ToolCallJSON.pendingPrefixLength(of: buffer, tag: opening)
                let cut = buffer.unicodeScalars.index(buffer.unicodeScalars.endIndex, offsetBy: -held)
                output += content(String(buffer.unicodeScalars[..<cut]))
                buffer = String(buffer.unicodeScalars[cut...])
                break
            }
        }
        return output
    }

    mutating func finish() -> [ToolCallOutput] {
        defer {
            buffer = ""
            pendingWhitespace = ""
            searchedBytes = 0
        }
        // A call whose closing tag never came (the model stopped right after
        // the JSON) still counts if the JSON is whole.
        return insideCall ? callOrText(Substring(buffer), closed: false) : content(buffer)
    }

    private mutating func callOrText(_ inside: Substring, closed: Bool) -> [ToolCallOutput] {
        if let call = ToolCallJSON.call(in: inside) {
            sawCall = true
            pendingWhitespace = ""
            return [call]
        }
        return content(opening + inside + (closed ? closing : ""))
    }

    /// Text, except the whitespace that separates calls.
    private mutating func content(_ text: String) -> [ToolCallOutput] {
        if text.isEmpty { return [] }
        if sawCall && text.allSatisfy(\.isWhitespace) {
            pendingWhitespace += text
            return []
        }
        defer { pendingWhitespace = "" }
        return [.content(pendingWhitespace + text)]
    }
}
