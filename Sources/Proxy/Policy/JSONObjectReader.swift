/// Reads one JSON object member by member, without building values: each
/// member's key is decoded (escapes resolved, so `"mod\u0065l"` is `model`)
/// and its value is skipped and returned as a byte range, for the caller to
/// read only what it needs (``string(in:)``, ``integer(in:)``,
/// ``literal(in:)``, or a nested reader over an object value).
///
/// The proxy reads request bodies (``RequestBodyReading``) and responses
/// (``ResponseUsageMeter``) with it, once per request; Foundation's
/// `JSONSerialization` builds every nested value as an object and was most
/// of what counting usage cost per request.
///
/// Strict where parsers disagree: strings with invalid escapes, lone
/// surrogates, control characters or invalid UTF-8 are refused; numbers and
/// literals are only checked for their characters (an upstream refuses a
/// malformed number, so nothing is served on it); nesting is bounded.
///
/// Generic over where the bytes are (indexed from `startIndex`), so that a
/// body or response held in one `ByteBuffer` is read where it is (over its
/// readable bytes, `UnsafeBufferPointer`, for the length of a call) instead
/// of copied into an array first: the copy and its allocation were a cost
/// of every counted request. ``JSONObjectReader`` is the reader over an array.
struct JSONReader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    /// Why the bytes are not read (``JSONReadFailure``).
    typealias Failure = JSONReadFailure

    /// Deepest nesting skipped over before the bytes are refused.
    static var maxDepth: Int { 128 }

    let bytes: Bytes
    private(set) var index: Int
    private let end: Int
    private var started = false
    private var finished = false

    /// A reader of the object that fills `bytes[range]` (all of `bytes` by
    /// default), whitespace around it allowed.
    init(bytes: Bytes, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.index = range?.lowerBound ?? bytes.startIndex
        self.end = range?.upperBound ?? bytes.endIndex
    }

    /// The next member's key and the range of its value, or `nil` after the
    /// last one (and only whitespace left after the object's `}`).
    mutating func nextMember() throws(Failure) -> (key: String, value: Range<Int>)? {
        guard let (key, value) = try self.nextMemberKey() else { return nil }
        return (self.text(of: key), value)
    }

    /// A member's key as read (``JSONMemberKey``).
    typealias Key = JSONMemberKey

    /// The key unescaped (checked when it was read, so it decodes).
    func text(of key: Key) -> String {
        if key.isPlain { return Self.text(of: self.bytes, in: key.range, ascii: true) ?? "" }
        var reader = Self(bytes: self.bytes, range: key.range.lowerBound - 1..<key.range.upperBound + 1)
        return (try? reader.string()) ?? ""
    }

    /// Whether `key` (read by ``nextMemberKey()``) is `name` (ASCII bytes),
    /// after unescaping, as ``nextMember()``'s `String` would compare.
    func key(_ key: Key, is name: [UInt8]) -> Bool {
        name.withUnsafeBufferPointer { self.key(key, isBytes: $0) }
    }

    /// As the `[UInt8]` ``key(_:is:)``, for a name written in the source: the
    /// proxy's member names are `StaticString`s, constant bytes, where a
    /// `static let` array is a lazily made global (a `swift_once` call on
    /// every comparison, a dozen per counted request).
    func key(_ key: Key, is name: StaticString) -> Bool {
        name.withUTF8Buffer { self.key(key, isBytes: $0) }
    }

    private func key(_ key: Key, isBytes name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard key.isPlain else { return self.text(of: key).utf8.elementsEqual(name) }
        guard key.range.count == name.count else { return false }
        return self.withRun(key.range) { $0.elementsEqual(name) }
    }

    /// Whether two keys of this object are the same key after unescaping.
    func key(_ key: Key, equals other: Key) -> Bool {
        guard key.isPlain && other.isPlain else { return self.text(of: key) == self.text(of: other) }
        guard key.range.count == other.range.count else { return false }
        return self.withRun(key.range) { first in self.withRun(other.range) { first.elementsEqual($0) } }
    }

    /// As ``nextMember()``, the key as a ``Key``.
    mutating func nextMemberKey() throws(Failure) -> (key: Key, value: Range<Int>)? {
        if self.finished { return nil }
        if !self.started {
            self.started = true
            self.skipWhitespace()
            try self.expect(UInt8(ascii: "{"), Failure(reason: "the body is not a JSON object"))
            self.skipWhitespace()
            if self.peek == UInt8(ascii: "}") {
                self.index += 1
                try self.finish()
                return nil
            }
        } else {
            self.skipWhitespace()
            if self.peek == UInt8(ascii: "}") {
                self.index += 1
                try self.finish()
                return nil
            }
            try self.expect(UInt8(ascii: ","), .invalid)
        }
        self.skipWhitespace()
        let key = try self.readKey()
        self.skipWhitespace()
        try self.expect(UInt8(ascii: ":"), .invalid)
        self.skipWhitespace()
        let start = self.index
        try self.skipValue(depth: 1)
        return (key, start..<self.index)
    }

    private mutating func finish() throws(Failure) {
        self.finished = true
        self.skipWhitespace()
        guard self.index == self.end else { throw Failure(reason: "the body has bytes after its JSON object") }
    }

    // MARK: Reading values

    /// The string value at `range` (which ``nextMember()`` returned), or
    /// `nil` when the value is not a string.
    func string(in range: Range<Int>) -> String? {
        guard range.lowerBound < range.upperBound, self.bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        var reader = Self(bytes: self.bytes, range: range)
        return try? reader.string()
    }

    /// The value at `range` when it is a plain integer (`12`, `-3`), else `nil`.
    func integer(in range: Range<Int>) -> Int? {
        let digits = self.bytes[range]
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        var negative = false
        for (offset, byte) in digits.enumerated() {
            if offset == 0 && byte == UInt8(ascii: "-") && digits.count > 1 {
                negative = true
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return negative ? -value : value
    }

    /// The JSON literal at `range`.
    enum Literal { case `true`, `false`, null }

    /// The value at `range` when it is `true`, `false` or `null`, else `nil`.
    func literal(in range: Range<Int>) -> Literal? {
        Self.literal(self.bytes[range])
    }

    /// `token` as a JSON literal, compared byte for byte with each (not
    /// through `String.UTF8View`, which was a visible cost per value).
    private static func literal(_ token: Bytes.SubSequence) -> Literal? {
        switch token.count {
        case 4 where token.elementsEqual(JSONLiteralBytes.true): return .true
        case 5 where token.elementsEqual(JSONLiteralBytes.false): return .false
        case 4 where token.elementsEqual(JSONLiteralBytes.null): return .null
        default: return nil
        }
    }


    /// Whether the value at `range` is an object (`{`) or an array (`[`).
    func isObject(_ range: Range<Int>) -> Bool { self.first(range) == UInt8(ascii: "{") }
    func isArray(_ range: Range<Int>) -> Bool { self.first(range) == UInt8(ascii: "[") }

    /// Whether the value at `range` is `[]` (whitespace inside allowed).
    func isEmptyArray(_ range: Range<Int>) -> Bool {
        guard self.isArray(range) else { return false }
        return self.bytes[range.dropFirst().dropLast()].allSatisfy(isJSONWhitespace)  // (a free function: `Self.` in a closure captures the generic metatype)
    }

    /// A reader over the object value at `range`, sharing these bytes.
    func object(in range: Range<Int>) -> Self? {
        self.isObject(range) ? Self(bytes: self.bytes, range: range) : nil
    }

    private func first(_ range: Range<Int>) -> UInt8? { range.isEmpty ? nil : self.bytes[range.lowerBound] }

    // MARK: Scanning

    // `peek`, `expect` and `skipWhitespace` run for nearly every byte; the
    // optimizer left them out of line (a call each), which cost about a
    // fifth of reading a small request or response.
    @inline(__always) private var peek: UInt8? { self.index < self.end ? self.bytes[self.index] : nil }

    @inline(__always) private mutating func expect(_ byte: UInt8, _ failure: Failure) throws(Failure) {
        guard self.peek == byte else { throw failure }
        self.index += 1
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { isJSONWhitespace(byte) }

    @inline(__always) private mutating func skipWhitespace() {
        while let byte = self.peek, Self.isWhitespace(byte) { self.index += 1 }
    }

    /// A JSON string, unescaped; invalid escapes, control characters and
    /// invalid UTF-8 are refused. With `decode` false (a value skipped
    /// over) it is checked the same way but an ASCII run is not copied, and
    /// the result is not the string.
    private mutating func string(decode: Bool = true) throws(Failure) -> String {
        try self.expect(UInt8(ascii: "\""), .invalid)
        // The common case, no escapes: one validated copy of the run.
        let start = self.index
        var ascii = true
        while let byte = self.peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
            ascii = ascii && byte < 0x80
            self.index += 1
        }
        if self.peek == UInt8(ascii: "\"") {
            self.index += 1
            if !decode && ascii { return "" }
            guard let text = Self.text(of: self.bytes, in: start..<self.index - 1, ascii: ascii) else { throw .invalid }
            return text
        }
        self.index = start
        var scalars = String.UnicodeScalarView()
        var runStart = self.index
        func flush(upTo end: Int) throws(Failure) {
            guard runStart < end else { return }
            guard let text = Self.text(of: self.bytes, in: runStart..<end, ascii: false) else { throw .invalid }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = self.peek else { throw .invalid }
            switch byte {
            case UInt8(ascii: "\""):
                try flush(upTo: self.index)
                self.index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(upTo: self.index)
                self.index += 1
                guard let escape = self.peek else { throw .invalid }
                self.index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    let unit = try self.hex4()
                    if (0xD800..<0xDC00).contains(unit) {
                        // A high surrogate must be followed by an escaped low one.
                        try self.expect(UInt8(ascii: "\\"), .invalid)
                        try self.expect(UInt8(ascii: "u"), .invalid)
                        let low = try self.hex4()
                        guard (0xDC00..<0xE000).contains(low),
                            let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        else { throw .invalid }
                        scalars.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(unit) else { throw .invalid }
                        scalars.append(scalar)
                    }
                default:
                    throw .invalid
                }
                runStart = self.index
            case 0..<0x20:
                throw .invalid
            default:
                self.index += 1
            }
        }
    }

    /// A key, checked as ``string(decode:)`` checks a string (an escaped or
    /// non-ASCII one is decoded for that, and the decoding dropped).
    private mutating func readKey() throws(Failure) -> Key {
        let quote = self.index
        try self.expect(UInt8(ascii: "\""), .invalid)
        let start = self.index
        while let byte = self.peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20, byte < 0x80 {
            self.index += 1
        }
        if self.peek == UInt8(ascii: "\"") {
            self.index += 1
            return Key(range: start..<self.index - 1, isPlain: true)
        }
        self.index = quote
        _ = try self.string()
        return Key(range: start..<self.index - 1, isPlain: false)
    }

    /// `bytes[range]` as a string, `nil` if it is not valid UTF-8; `ascii`
    /// when the caller saw only ASCII bytes (nothing to validate).
    ///
    /// Over the bytes' buffer: `String(validating:as:)` on an `ArraySlice`
    /// ran unspecialized (metadata look-ups per call) and was the largest
    /// part of reading a small JSON object.
    private static func text(of bytes: Bytes, in range: Range<Int>, ascii: Bool) -> String? {
        Self.withRun(of: bytes, range) { run in
            ascii ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
        }
    }

    /// `body` over `bytes[range]` as a buffer: the bytes' own storage (an
    /// array's, a pointer's), a copy only for storage that is not contiguous.
    private static func withRun<Result>(
        of bytes: Bytes, _ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        let direct = bytes.withContiguousStorageIfAvailable { buffer in
            body(UnsafeBufferPointer(rebasing: buffer[(range.lowerBound - bytes.startIndex)..<(range.upperBound - bytes.startIndex)]))
        }
        if let direct { return direct }
        return Array(bytes[range]).withUnsafeBufferPointer(body)
    }

    private func withRun<Result>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        Self.withRun(of: self.bytes, range, body)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard self.index + 4 <= self.end else { throw .invalid }
        var value: UInt32 = 0
        for byte in self.bytes[self.index..<self.index + 4] {
            guard let digit = Self.hexDigit(byte) else { throw .invalid }
            value = value << 4 | UInt32(digit)
        }
        self.index += 4
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Skips one JSON value. Nested keys are not decoded, but strings are
    /// read whole, so a brace inside one is not taken for structure.
    private mutating func skipValue(depth: Int) throws(Failure) {
        guard depth <= Self.maxDepth else { throw Failure(reason: "the body is nested too deeply") }
        self.skipWhitespace()
        guard let byte = self.peek else { throw .invalid }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try self.string(decode: false)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            self.index += 1
            self.skipWhitespace()
            if self.peek == close {
                self.index += 1
                return
            }
            while true {
                if close == UInt8(ascii: "}") {
                    self.skipWhitespace()
                    _ = try self.string(decode: false)
                    self.skipWhitespace()
                    try self.expect(UInt8(ascii: ":"), .invalid)
                }
                try self.skipValue(depth: depth + 1)
                self.skipWhitespace()
                if self.peek == UInt8(ascii: ",") {
                    self.index += 1
                    continue
                }
                try self.expect(close, .invalid)
                return
            }
        default:
            // A number or a literal: its characters up to a delimiter.
            let start = self.index
            while let next = self.peek, !Self.isDelimiter(next) { self.index += 1 }
            guard Self.isLiteralOrNumber(self.bytes[start..<self.index]) else { throw .invalid }
        }
    }

    private static func isDelimiter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || Self.isWhitespace(byte)
    }

    private static func isLiteralOrNumber(_ token: Bytes.SubSequence) -> Bool {
        guard !token.isEmpty else { return false }
        if Self.literal(token) != nil { return true }
        return token.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                || byte == UInt8(ascii: "E")
        }
    }
}

/// The reader over an array of bytes.
typealias JSONObjectReader = JSONReader<[UInt8]>

/// Why JSON bytes are not read; the wording is for a client.
struct JSONReadFailure: Error, Equatable {
    let reason: String
    static let invalid = JSONReadFailure(reason: "the body is not valid JSON")
}

/// A member's key as ``JSONReader`` read it: where its text is, between the
/// quotes, and whether those bytes are the key itself (ASCII without
/// escapes, the common case: compared with a name by ``JSONReader/key(_:is:)``
/// without making a `String`, which allocates past 15 bytes). A plain value:
/// no `String` to release either.
struct JSONMemberKey {
    /// The bytes between the quotes.
    let range: Range<Int>
    /// Whether they are the key as they are (ASCII, no escapes).
    let isPlain: Bool
}

/// The JSON literals as bytes (a generic type has no static stored properties).
private enum JSONLiteralBytes {
    static let `true`: [UInt8] = Array("true".utf8)
    static let `false`: [UInt8] = Array("false".utf8)
    static let null: [UInt8] = Array("null".utf8)
}

/// Whether `byte` is JSON whitespace.
private func isJSONWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
