import Foundation

/// Mistral's calls: `[TOOL_CALLS]` and then a JSON array of
/// `{"name": …, "arguments": {…}, "id": …}` to the end of the output,
/// text allowed before it.
struct MistralToolCallParser: ToolCallParser {
    static let marker = "[TOOL_CALLS]"
    private var buffer = ""
    private var insideCalls = false

    mutating func feed(_ text: String) -> [ToolCallOutput] {
        buffer += text
        if insideCalls { return [] }
        if let start = buffer.range(of: Self.marker) {
            let before = String(buffer[..<start.lowerBound])
            buffer = String(buffer[start.upperBound...])
            insideCalls = true
            return before.isEmpty ? [] : [.content(before)]
        }
        let held = ToolCallJSON.pendingPrefixLength(of: buffer, tag: Self.marker)
        let cut = buffer.unicodeScalars.index(buffer.unicodeScalars.endIndex, offsetBy: -held)
        let ready = String(buffer.unicodeScalars[..<cut])
        buffer = String(buffer.unicodeScalars[cut...])
        return ready.isEmpty ? [] : [.content(ready)]
    }

    mutating func finish() -> [ToolCallOutput] {
        defer { buffer = "" }
        guard insideCalls else { return buffer.isEmpty ? [] : [.content(buffer)] }
        var calls: [ToolCallOutput] = []
        if case .array(let items)? = JSONValue.parse(Data(buffer.utf8)), !items.isEmpty {
            for item in items {
                guard let object = item.objectValue, let call = ToolCallJSON.call(of: object) else { calls = []; break }
                calls.append(call)
            }
        }
        return calls.isEmpty ? [.content(Self.marker + buffer)] : calls
    }
}
