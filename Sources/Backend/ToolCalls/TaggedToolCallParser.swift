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

    init(opening: String = "<tool_call>", closing: String = "</tool_call>") {
        self.opening = opening
        self.closing = closing
    }

    mutating func feed(_ text: String) -> [ToolCallOutput] {
        buffer += text
        var output: [ToolCallOutput] = []
        while true {
            if insideCall {
                guard let end = buffer.range(of: closing) else { break }
                output += callOrText(buffer[..<end.lowerBound], closed: true)
                buffer = String(buffer[end.upperBound...])
                insideCall = false
            } else if let start = buffer.range(of: opening) {
                output += content(String(buffer[..<start.lowerBound]))
                buffer = String(buffer[start.upperBound...])
                insideCall = true
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
