import Foundation

/// A call of a function tool: in an assistant message of a request, or
/// parsed from a model's output.
public struct ToolCall: Sendable, Equatable {
    /// The id that the tool's result names (`call_…`, `toolu_…`).
    public var id: String
    /// The function's name.
    public var name: String
    /// The arguments as JSON text (OpenAI sends and expects a string).
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments as a JSON value: the object they hold, or the text as a
    /// string when it is not JSON (templates such as Qwen's and Llama's
    /// write `arguments | tojson` and expect an object).
    public var argumentsValue: JSONValue {
        JSONValue.parse(Data(arguments.utf8)) ?? .string(arguments)
    }

    /// A random id: `prefix` and 24 letters and digits, or 9 for Mistral's
    /// templates, which refuse any other length.
    static func makeID(prefix: String, length: Int = 24) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return prefix + String((0..<length).map { _ in alphabet.randomElement()! })
    }
}
