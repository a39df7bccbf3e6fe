/// Llama 3.x's calls: the whole output is `{"name": …, "parameters": {…}}`
/// (several separated by `;`), possibly after `<|python_tag|>`. Output
/// that starts otherwise is text, streamed as it comes; output that starts
/// with `{` is held to the end, since only then is it known to be a call.
struct LlamaToolCallParser: ToolCallParser {
    static let pythonTag = "<|python_tag|>"
    private var buffer = ""
    private enum Mode { case undecided, text, call }
    private var mode = Mode.undecided

    mutating func feed(_ text: String) -> [ToolCallOutput] {
        buffer += text
        if mode == .undecided {
            let start = buffer.drop(while: \.isWhitespace)
            if start.isEmpty { return [] }
            if start.hasPrefix("{") || start.hasPrefix(Self.pythonTag) {
                mode = .call
            } else if Self.pythonTag.hasPrefix(start) {
                return []
            } else {
                mode = .text
            }
        }
        guard mode == .text else { return [] }
        defer { buffer = "" }
        return buffer.isEmpty ? [] : [.content(buffer)]
    }

    mutating func finish() -> [ToolCallOutput] {
        defer { buffer = "" }
        guard mode == .call else { return buffer.isEmpty ? [] : [.content(buffer)] }
        var text = Substring(buffer.drop(while: \.isWhitespace))
        if text.hasPrefix(Self.pythonTag) { text = text.dropFirst(Self.pythonTag.count) }
        if let call = ToolCallJSON.call(in: text) { return [call] }
        var calls: [ToolCallOutput] = []
        for piece in text.split(separator: ";") {
            guard let call = ToolCallJSON.call(in: piece) else { return [.content(buffer)] }
            calls.append(call)
        }
        return calls.isEmpty ? [.content(buffer)] : calls
    }
}
