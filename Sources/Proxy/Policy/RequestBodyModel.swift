/// The `model` a request body names, read the way the upstream will read it.
///
/// The body goes upstream byte for byte, so this reading and the upstream's
/// JSON parser must agree on which model is asked for. Wherever two parsers
/// could disagree, the body is refused instead of guessed at:
/// - a top-level `model` (or any top-level key) given twice (parsers keep
///   the first, the last, or fail), counting keys equal after unescaping
///   (`"mod\u0065l"`);
/// - a key equal to `model` but for case (`Model`, `MODEL`), which a
///   case-insensitive decoder would take;
/// - anything that is not one JSON object (leading junk, a byte-order mark,
///   trailing bytes), and a `model` that is not a string.
///
/// Only the top level is decoded; nested values are skipped (strings inside
/// them still respected), with nesting bounded.
public enum RequestBodyModel: Equatable, Sendable {
    /// The body names this model, once.
    case model(String)
    /// The body is a JSON object with no `model` key.
    case missing
    /// The body cannot be read unambiguously; the reason is for the client.
    case refused(String)

    /// Reads the `model` of a JSON request body.
    public init(body: some Collection<UInt8>) {
        self = RequestBodyReading(body: Array(body)).model
    }
}

/// What the proxy reads from a JSON request body, in one pass over it: the
/// ``RequestBodyModel`` and where the top-level `stream` and `stream_options`
/// values are, which decide whether a stream is asked for its usage
/// (``StreamUsageRequest``). Their ranges are set only when the body is read
/// unambiguously (the model is not `.refused`).
///
/// Over the body where it is (``JSONReader``); ``RequestBodyReading`` is the
/// reading of an array.
struct RequestBodyReadingOf<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    let model: RequestBodyModel
    /// The body, for reading the ranges below.
    let json: JSONReader<Bytes>
    /// The raw value of the top-level `stream`, if given.
    let stream: Range<Int>?
    /// The raw value of the top-level `stream_options`, if given.
    let streamOptions: Range<Int>?

    init(body: Bytes) {
        self.json = JSONReader(bytes: body)
        do {
            (self.model, self.stream, self.streamOptions) = try Self.readMembers(self.json)
        } catch {
            (self.model, self.stream, self.streamOptions) = (.refused(error.reason), nil, nil)
        }
    }

    private static func readMembers(
        _ json: JSONReader<Bytes>
    ) throws(JSONReadFailure) -> (RequestBodyModel, stream: Range<Int>?, streamOptions: Range<Int>?) {
        var reader = json
        var model: String?
        var stream: Range<Int>?
        var streamOptions: Range<Int>?
        var keys = SeenKeys()
        // Keys compared as bytes (``JSONObjectReader/key(_:is:)``), made
        // into a `String` only for a message: a `String` per key and their
        // comparisons were most of reading a small body.
        while let (key, value) = try reader.nextMemberKey() {
            // Every key once: the proxy's reading of `model` and `stream` must be the upstream's.
            guard keys.insert(key, of: json) else {
                throw .init(reason: "the body gives \"\(LogField.escaped(json.text(of: key), limit: 64))\" more than once")
            }
            if json.key(key, is: Names.model) {
                guard let name = json.string(in: value) else { throw .init(reason: "\"model\" must be a string") }
                model = name
            } else if json.key(key, is: Names.stream) {
                stream = value
            } else if json.key(key, is: Names.streamOptions) {
                streamOptions = value
            } else if !key.isPlain || key.range.count == 5, Self.isModelButForCase(json.text(of: key)) {
                // (A plain key of another length than five bytes cannot be `model` but for case.)
                let shown = LogField.escaped(json.text(of: key), limit: 64)
                throw .init(reason: "the body has a key \"\(shown)\" that differs from \"model\" only in case")
            }
        }
        return (model.map(RequestBodyModel.model) ?? .missing, stream, streamOptions)
    }

    private typealias Names = RequestBodyKeyNames

    /// The top-level keys read so far (``RequestBodySeenKeys``).
    typealias SeenKeys = RequestBodySeenKeys

    /// Whether `key` is `model` but for case (`key.lowercased() == "model"`,
    /// without making a lowercased copy of every key): only ASCII letters
    /// lowercase to `m`, `o`, `d`, `e` and `l`, so such a key is five ASCII bytes.
    static func isModelButForCase(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { bytes in
            bytes.count == 5 && zip(bytes, "model".utf8).allSatisfy { byte, lower in byte | 0x20 == lower }
        }
    }
}

/// The reading of a body held in an array.
typealias RequestBodyReading = RequestBodyReadingOf<[UInt8]>

/// The top-level names ``RequestBodyReadingOf`` reads (a generic type has
/// no static stored properties; constant bytes, see
/// ``JSONReader/key(_:is:)``).
private enum RequestBodyKeyNames {
    static var model: StaticString { "model" }
    static var stream: StaticString { "stream" }
    static var streamOptions: StaticString { "stream_options" }
}

/// The top-level keys read so far, for refusing one given twice.
///
/// A request has a handful of keys: they are kept as where they are in
/// the body and compared one by one, as bytes (as text when escaped), in
/// fixed storage (a `Set` hashed every key and was a visible share of
/// reading a body; an array allocated on every request); past
/// ``linearLimit`` keys they go into a `Set` of their text, so a body
/// with many keys is not quadratic.
struct RequestBodySeenKeys {
    /// How many keys `few` holds.
    static let linearLimit = 16
    private var few = InlineArray<16, JSONMemberKey>(repeating: .init(range: 0..<0, isPlain: true))
    private var fewCount = 0
    private var many: Set<String>?

    /// Adds `key`, read from `json`; `false` if it was there already.
    mutating func insert<Bytes>(_ key: JSONMemberKey, of json: JSONReader<Bytes>) -> Bool {
        if self.many != nil { return self.many!.insert(json.text(of: key)).inserted }
        for index in 0..<self.fewCount where json.key(self.few[index], equals: key) { return false }
        if self.fewCount < Self.linearLimit {
            self.few[self.fewCount] = key
            self.fewCount += 1
        } else {
            var many = Set<String>(minimumCapacity: 2 * Self.linearLimit)
            for index in 0..<self.fewCount { many.insert(json.text(of: self.few[index])) }
            many.insert(json.text(of: key))
            self.many = many
            self.fewCount = 0
        }
        return true
    }
}
