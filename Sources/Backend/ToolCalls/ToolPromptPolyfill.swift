/// Tools, calls and results for a chat template that does not render them
/// itself (SmolLM2's, the ChatML fallback, the demo model's): they are
/// written as text in Qwen 2.5's convention, which ChatML-trained models
/// know best, and the output is read with the ``ToolCallFormat/hermes``
/// parser.
///
/// - the tools go at the end of the system message (one is added if the
///   conversation has none), with how to call them;
/// - an assistant message's calls become `<tool_call>` blocks after its text;
/// - a run of `tool` messages becomes one user message of `<tool_response>` blocks.
enum ToolPromptPolyfill {
    static func apply(_ messages: [ChatMessage], tools: [ToolDefinition], support: ToolTemplateSupport) -> [ChatMessage] {
        var result: [ChatMessage] = []
        for message in messages {
            if support.rendersToolCalls {
                result.append(message)
            } else if !message.toolCalls.isEmpty {
                var text = message.content
                for call in message.toolCalls {
                    let json: JSONValue = ["name": .string(call.name), "arguments": call.argumentsValue]
                    text += (text.isEmpty ? "" : "\n") + "<tool_call>\n" + json.serialized + "\n</tool_call>"
                }
                result.append(ChatMessage(role: message.role, content: text))
            } else if message.role == "tool" {
                let block = "<tool_response>\n" + message.content + "\n</tool_response>"
                if let last = result.last, last.role == "user", last.content.hasSuffix("</tool_response>") {
                    result[result.count - 1].content += "\n" + block
                } else {
                    result.append(ChatMessage(role: "user", content: block))
                }
            } else {
                result.append(message)
            }
        }
        guard !support.rendersTools, !tools.isEmpty else { return result }
        let instructions = toolInstructions(tools)
        if let first = result.first, first.role == "system" {
            result[0].content += "\n\n" + instructions
        } else {
            result.insert(ChatMessage(role: "system", content: instructions), at: 0)
        }
        return result
    }

    /// The tools' signatures and how a call is written.
    static func toolInstructions(_ tools: [ToolDefinition]) -> String {
        var text = "# Tools\n\nYou may call one or more of these functions to help with the user's request."
        text += " Their signatures are within <tools></tools> tags:\n<tools>"
        for tool in tools { text += "\n" + tool.templateValue.serialized }
        text += "\n</tools>\n\nTo call a function, write a JSON object with its name and arguments within <tool_call></tool_call> tags:"
        text += "\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <arguments-json-object>}\n</tool_call>"
        return text
    }
}
