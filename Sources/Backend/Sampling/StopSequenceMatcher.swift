/// Watches generated text for stop sequences, releasing text only once it
/// can no longer be the start of one (so a stop sequence split over several
/// tokens is never partly shown).
public struct StopSequenceMatcher: Sendable {
    private let stops: [String]
    private var pending = ""
    /// Whether a stop sequence has been met.
    public private(set) var stopped = false

    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds generated `text`; returns the text that may be shown now. After
    /// a stop sequence is met, returns the text before it and sets ``stopped``.
    public mutating func append(_ text: String) -> String {
        guard !stopped else { return "" }
        pending += text
        if let range = stops.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            stopped = true
            let before = String(pending[..<range.lowerBound])
            pending = ""
            return before
        }
        // Hold back the longest tail that begins some stop sequence.
        var held = pending.endIndex
        var index = pending.startIndex
        while index < pending.endIndex {
            let tail = pending[index...]
            if stops.contains(where: { $0.hasPrefix(tail) }) { held = index; break }
            index = pending.index(after: index)
        }
        let released = String(pending[..<held])
        pending = String(pending[held...])
        return released
    }

    /// The text still held back, at the end of generation.
    public mutating func finish() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }
}
