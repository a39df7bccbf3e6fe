import NIOCore

/// Reads the token usage out of a response as it passes to the client:
/// prompt + completion tokens, from OpenAI's `usage` (`prompt_tokens`,
/// `completion_tokens`) or Anthropic's (`input_tokens`, `output_tokens`,
/// also inside `message` in a stream's `message_start`).
///
/// - A JSON response is copied aside (up to ``maxJSONBytes``) and read at
///   its end; the bytes go to the client unchanged.
/// - An event stream is cut into events; those that mention `usage` are
///   read, and the last value of each count wins (Anthropic repeats the
///   output count as it grows). With ``stripsUsageChunk``, what the proxy
///   asked for (``StreamUsageRequest``) is taken out again, so the client
///   sees exactly what it would have without the injection: the chunk with
///   `usage` and an empty `choices`, and the `"usage":null` that upstreams
///   (lmgate's backend, OpenAI) add to every other chunk once usage is
///   asked for. (A literal `"usage":null` cannot occur inside a JSON string,
///   where quotes are escaped, so removing it as text is safe.) An event
///   longer than ``maxEventBytes`` stops the reading: the rest passes unread.
struct ResponseUsageMeter {
    static let maxJSONBytes = 1024 * 1024
    static let maxEventBytes = 1024 * 1024

    enum Kind: Equatable { case json, eventStream, unread }

    private(set) var kind: Kind
    let stripsUsageChunk: Bool
    private var pending: [UInt8] = []
    /// A JSON response's only part so far, held as it came instead of
    /// copied into `pending` (most responses come in one part: the copy and
    /// its allocation were a cost of every counted request).
    private var held: ByteBuffer?
    private(set) var promptTokens: Int?
    private(set) var completionTokens: Int?
    /// The model the response names (`model`, or `message.model` in an
    /// Anthropic stream), read from the objects that carry the usage.
    private(set) var model: String?

    /// A meter for a response with this `Content-Type`.
    init(contentType: String?, stripsUsageChunk: Bool) {
        self.kind = contentType.map(Self.kind(ofContentType:)) ?? .unread
        self.stripsUsageChunk = stripsUsageChunk && self.kind == .eventStream
    }

    /// The kind of a `Content-Type`: its media type, parameters and the
    /// whitespace around it ignored, compared without case.
    static func kind(ofContentType contentType: String) -> Kind {
        // Over the contiguous UTF-8 bytes: generic `zip`/`allSatisfy` over
        // `String.UTF8View` was a visible share of every metered response.
        var contentType = contentType
        return contentType.withUTF8 { bytes in
            var start = 0
            var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
            func equals(_ expected: StaticString) -> Bool {
                expected.withUTF8Buffer { expected in
                    guard end - start == expected.count else { return false }
                    for offset in 0..<expected.count {
                        let byte = bytes[start + offset]
                        guard byte | (byte >= 0x41 && byte <= 0x5A ? 0x20 : 0) == expected[offset] else { return false }
                    }
                    return true
                }
            }
            // `StaticString`s: constant bytes, where a `static let` array is
            // a lazily made global (a `swift_once` call on every response).
            if equals("application/json") { return .json }
            if equals("text/event-stream") { return .eventStream }
            return .unread
        }
    }


    /// Prompt + completion tokens seen so far; `nil` if no usage was seen.
    var tokens: Int? {
        guard self.promptTokens != nil || self.completionTokens != nil else { return nil }
        return (self.promptTokens ?? 0) + (self.completionTokens ?? 0)
    }

    /// A part of the body arrived: returns the bytes to pass to the client now.
    mutating func pass(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        switch self.kind {
        case .unread:
            return nil
        case .json:
            self.pending += bytes
            if self.pending.count > Self.maxJSONBytes {
                self.kind = .unread
                self.pending = []
            }
            return nil
        case .eventStream:
            self.pending += bytes
            var out: [UInt8] = []
            while let end = Self.eventEnd(in: self.pending) {
                let event = Array(self.pending[..<end])
                self.pending.removeFirst(end)
                if let passed = self.read(event: event) { out += passed }
            }
            if self.pending.count > Self.maxEventBytes {
                self.kind = .unread
                out += self.pending
                self.pending = []
            }
            return out
        }
    }

    /// As ``pass(_:)``, for a part in a buffer: a JSON response's first
    /// part is held as it is, and copied aside only when a second one comes.
    mutating func pass(buffer: ByteBuffer) -> [UInt8]? {
        if self.kind == .json, self.pending.isEmpty, self.held == nil, buffer.readableBytes <= Self.maxJSONBytes {
            self.held = buffer
            return nil
        }
        if let held = self.held {
            self.held = nil
            self.pending += held.readableBytesView
        }
        return self.pass(buffer.readableBytesView)
    }

    /// Whether the caller forwards `pass`'s result (otherwise the bytes given).
    var rewritesBody: Bool { self.stripsUsageChunk }

    /// The response ended: returns the bytes still held for the client.
    mutating func finish() -> [UInt8] {
        defer { self.pending = [] }
        let held = self.held
        self.held = nil
        switch self.kind {
        case .unread:
            return []
        case .json:
            if let held, let _ = held.readableBytesView.withContiguousStorageIfAvailable({ self.take(usageOf: JSONReader(bytes: $0)) }) {
                return []
            }
            _ = self.take(usageOf: JSONObjectReader(bytes: held.map { Array($0.readableBytesView) } ?? self.pending))
            return []
        case .eventStream:
            // An unterminated last event is read too, and passed on as it came.
            return self.pending.isEmpty ? [] : self.read(event: self.pending) ?? []
        }
    }

    /// Reads one event; returns what of it goes to the client.
    private mutating func read(event: [UInt8]) -> [UInt8]? {
        guard event.count > 7, Self.contains(event, Self.usageBytes) else { return event }
        var data: [UInt8] = []
        for line in event.split(separator: UInt8(ascii: "\n")) {
            var line = line
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard line.starts(with: Self.dataPrefix) else { continue }
            var value = line.dropFirst(Self.dataPrefix.count)
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            if !data.isEmpty { data.append(UInt8(ascii: "\n")) }
            data += value
        }
        guard let read = self.take(usageOf: JSONObjectReader(bytes: data)) else { return event }
        guard self.stripsUsageChunk else { return event }
        if read.hasUsageObject && read.hasEmptyChoices { return nil }
        return Self.removingNullUsage(from: event)
    }

    /// `event` without its first `"usage":null` member (with the comma that joins it).
    static func removingNullUsage(from event: [UInt8]) -> [UInt8] {
        for member in Self.nullUsageMembers {
            guard let range = Self.range(of: member, in: event) else { continue }
            var result = event
            result.removeSubrange(range)
            return result
        }
        return event
    }

    private static let nullUsageMembers = [",\"usage\":null", ", \"usage\": null", "\"usage\":null,", "\"usage\": null, "].map {
        Array($0.utf8)
    }

    static func range(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return start..<start + needle.count }
        }
        return nil
    }

    /// What ``take(usageOf:)`` saw of an object's shape.
    struct ObjectShape {
        /// A top-level `usage` object.
        var hasUsageObject = false
        /// A top-level `choices` that is `[]`.
        var hasEmptyChoices = false
    }

    /// Takes the model and the counts of an OpenAI or Anthropic object (a
    /// response, or one event's data); `nil` when it is not a JSON object.
    /// A member given twice counts by its last value, as JSON decoders
    /// building dictionaries do.
    private mutating func take<Bytes>(usageOf object: JSONReader<Bytes>) -> ObjectShape? {
        var object = object
        var shape = ObjectShape()
        var model: String?
        var usage: Range<Int>?
        var message: Range<Int>?
        // Keys compared as bytes (``JSONObjectReader/key(_:is:)``): a `String`
        // per key allocated for `completion_tokens` on every response.
        do {
            while let (key, value) = try object.nextMemberKey() {
                if object.key(key, is: Names.model) {
                    model = object.string(in: value)
                } else if object.key(key, is: Names.usage) {
                    usage = value
                } else if object.key(key, is: Names.message) {
                    message = value
                } else if object.key(key, is: Names.choices) {
                    shape.hasEmptyChoices = object.isEmptyArray(value)
                }
            }
            // Anthropic's stream names them inside `message_start`'s message.
            if (model == nil || usage.map(object.isObject) != true), let message, var inner = object.object(in: message) {
                while let (key, value) = try inner.nextMemberKey() {
                    if model == nil && object.key(key, is: Names.model) { model = object.string(in: value) }
                    if usage.map(object.isObject) != true && object.key(key, is: Names.usage) { usage = value }
                }
            }
        } catch {
            return nil
        }
        if let model { self.model = model }
        guard let usage, var counts = object.object(in: usage) else { return shape }
        shape.hasUsageObject = true
        var prompt: Int??, completion: Int??, input: Int??, output: Int??
        do {
            while let (key, value) = try counts.nextMemberKey() {
                if object.key(key, is: Names.promptTokens) {
                    prompt = .some(object.integer(in: value))
                } else if object.key(key, is: Names.completionTokens) {
                    completion = .some(object.integer(in: value))
                } else if object.key(key, is: Names.inputTokens) {
                    input = .some(object.integer(in: value))
                } else if object.key(key, is: Names.outputTokens) {
                    output = .some(object.integer(in: value))
                }
            }
        } catch {
            return shape
        }
        // OpenAI's name when given (even if not a count), else Anthropic's.
        if let value = (prompt ?? input), let value { self.promptTokens = value }
        if let value = (completion ?? output), let value { self.completionTokens = value }
        return shape
    }

    /// The member names ``take(usageOf:)`` reads (constant bytes: see
    /// ``JSONReader/key(_:is:)``).
    private enum Names {
        static var model: StaticString { "model" }
        static var usage: StaticString { "usage" }
        static var message: StaticString { "message" }
        static var choices: StaticString { "choices" }
        static var promptTokens: StaticString { "prompt_tokens" }
        static var completionTokens: StaticString { "completion_tokens" }
        static var inputTokens: StaticString { "input_tokens" }
        static var outputTokens: StaticString { "output_tokens" }
    }

    private static let usageBytes = Array("\"usage\"".utf8)
    private static let dataPrefix = Array("data:".utf8)

    /// The index just past the first event's terminating blank line, if complete.
    static func eventEnd(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                if bytes[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if bytes[index + 1] == UInt8(ascii: "\r"), index + 2 < bytes.count, bytes[index + 2] == UInt8(ascii: "\n") {
                    return index + 3
                }
            }
            index += 1
        }
        return nil
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        Self.range(of: needle, in: haystack) != nil
    }
}
