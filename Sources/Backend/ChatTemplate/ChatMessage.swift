/// One message of a conversation, as the chat template sees it.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant` (or whatever role a client sends).
    public var role: String
    /// The message's text.
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
