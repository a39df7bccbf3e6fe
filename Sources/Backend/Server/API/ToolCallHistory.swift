/// Checks that every tool result in a conversation answers a call an
/// earlier assistant message made, so a template never renders a result
/// without its call (or a call id that no one made).
enum ToolCallHistory {
    /// `parameter` names the message at an index (`messages[3]`, `messages.3`);
    /// `idField` the field of that message that holds the id answered
    /// (Anthropic's is inside a `tool_result` block of the `content`).
    static func check(_ messages: [ChatMessage], idField: String = "tool_call_id", parameter: (Int) -> String) throws(APIError) {
        var calls: Set<String> = []
        for (index, message) in messages.enumerated() {
            for call in message.toolCalls { calls.insert(call.id) }
            guard message.role == "tool", let id = message.toolCallID else { continue }
            guard !calls.isEmpty else {
                throw .invalid(
                    "'\(parameter(index)).role': tool messages must answer a call of an earlier assistant message, and none made one",
                    parameter: "\(parameter(index)).role")
            }
            guard !id.isEmpty else {
                throw .invalid("'\(parameter(index)).\(idField)' needs the id of the call answered", parameter: "\(parameter(index)).\(idField)")
            }
            guard calls.contains(id) else {
                throw .invalid(
                    "'\(parameter(index)).\(idField)' answers '\(id)', which no earlier assistant message called", parameter: "\(parameter(index)).\(idField)")
            }
        }
    }
}
