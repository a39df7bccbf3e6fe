/// A model's output read into text and numbered calls for one response:
/// the template's ``ToolCallParser``, ids given to calls, and only the
/// first call kept when parallel calls are off.
struct ToolCallStream {
    /// One piece of the response.
    enum Event: Equatable {
        case content(String)
        /// A call and its position among the response's calls.
        case call(ToolCall, index: Int)
    }

    private var parser: any ToolCallParser
    private let makeID: @Sendable () -> String
    private let parallel: Bool
    /// The calls given so far.
    private(set) var calls: [ToolCall] = []

    /// A stream whose parser has read `opening` before the output: the call
    /// markup a forced call writes into the prompt (see ``ForcedToolCall``).
    init(parser: any ToolCallParser, parallel: Bool, opening: String = "", makeID: @escaping @Sendable () -> String) {
        self.parser = parser
        self.parallel = parallel
        self.makeID = makeID
        // The opening alone is never a whole call nor text the parser gives back.
        _ = self.parser.feed(opening)
    }

    mutating func feed(_ text: String) -> [Event] {
        events(parser.feed(text))
    }

    mutating func finish() -> [Event] {
        events(parser.finish())
    }

    private mutating func events(_ outputs: [ToolCallOutput]) -> [Event] {
        var events: [Event] = []
        for output in outputs {
            switch output {
            case .content(let text):
                events.append(.content(text))
            case .call(let name, let arguments):
                // With parallel calls off, what follows the first call is dropped, as OpenAI
                // promises at most one call.
                guard parallel || calls.isEmpty else { continue }
                let call = ToolCall(id: makeID(), name: name, arguments: arguments)
                events.append(.call(call, index: calls.count))
                calls.append(call)
            }
        }
        return events
    }
}
