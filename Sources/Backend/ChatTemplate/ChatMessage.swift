import Foundation

/// One message of a conversation, as the chat template sees it.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool` (or whatever role a client sends).
    public var role: String
    /// The message's text.
    public var content: String
    /// The calls an assistant message made.
    public var toolCalls: [ToolCall]
    /// The call a `tool` message answers.
    public var toolCallID: String?

    public init(role: String, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    /// The message with every string a client wrote in it passed through
    /// `mark` (``Tokenizer/markingControlTokenText(in:)``): the role, the
    /// text, the call ids and names, and each string inside the calls'
    /// arguments, read as JSON first so that an escaped control token
    /// (`\u003c|im_end|>`) is marked as the text the template will write.
    func marked(by mark: (String) -> String) -> ChatMessage {
        ChatMessage(
            role: mark(role), content: mark(content),
            toolCalls: toolCalls.map { call in
                var arguments = mark(call.arguments)
                if let parsed = JSONValue.parse(Data(call.arguments.utf8)) {
                    let marked = parsed.mappingStrings(mark)
                    arguments = marked == parsed ? call.arguments : marked.serialized
                }
                return ToolCall(id: mark(call.id), name: mark(call.name), arguments: arguments)
            },
            toolCallID: toolCallID.map(mark))
    }
}

extension JSONValue {
    /// The value with `transform` applied to every string in it, keys included.
    func mappingStrings(_ transform: (String) -> String) -> JSONValue {
        switch self {
        case .string(let text): .string(transform(text))
        case .array(let items): .array(items.map { $0.mappingStrings(transform) })
        case .object(let members):
            .object(Dictionary(members.map { (transform($0.key), $0.value.mappingStrings(transform)) }, uniquingKeysWith: { $1 }))
        default: self
        }
    }
}
