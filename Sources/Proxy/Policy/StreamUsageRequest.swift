/// A streaming request made to report its token usage, for an identity
/// with a token quota: an OpenAI-compatible upstream sends `usage` in a
/// stream only when asked with `stream_options.include_usage`.
///
/// When the client did not ask, the proxy adds
/// `"stream_options":{"include_usage":true}` as the object's last member,
/// by inserting it before the final `}`: every byte the client sent stays
/// as it was (numbers are not re-formatted, keys not reordered), and the
/// extra usage chunk is removed from the response (``ResponseUsageMeter``).
/// A client that sent `stream_options` without `include_usage: true` is
/// refused rather than having its object edited.
///
/// Only the JSON literals are read: `stream` must be `true`, `false` or
/// `null`, and `include_usage` the literal `true`. An upstream with a
/// lenient parser (pydantic's lax mode takes `1` or `"true"` for true)
/// would otherwise stream a response the proxy did not ask usage for, and
/// its tokens would go uncounted; such a body is refused instead.
///
/// The body is read by ``RequestBodyReading`` (one object, no repeated
/// top-level key), so `stream` read here is the upstream's.
enum StreamUsageRequest: Equatable {
    /// Not a stream, or the client asked for usage itself: forward as is.
    case unchanged
    /// The body with `include_usage` asked for; strip the usage chunk.
    case rewritten([UInt8])
    /// The body cannot be made to report usage; the reason is for the client.
    case refused(String)

    static let member = Array(#","stream_options":{"include_usage":true}"#.utf8)

    /// Reads a body on its own (tests; the proxy reads it once, with its model).
    init(body: [UInt8]) {
        self.init(reading: RequestBodyReading(body: body))
    }

    init<Bytes>(reading: RequestBodyReadingOf<Bytes>) {
        let json = reading.json
        if case .refused(let reason) = reading.model {
            self = .refused(reason)
            return
        }
        guard let stream = reading.stream else {
            self = .unchanged
            return
        }
        switch json.literal(in: stream) {
        case .false, .null:
            self = .unchanged
            return
        case .true:
            break
        case nil:
            self = .refused("\"stream\" must be true or false")
            return
        }
        if let options = reading.streamOptions {
            self = Self.includesUsage(json, options)
                ? .unchanged
                : .refused("with a token quota, stream_options.include_usage must be true or stream_options absent")
            return
        }
        // One object with nothing but whitespace after it: its last `}` closes it.
        guard let close = json.bytes.lastIndex(of: UInt8(ascii: "}")) else {
            self = .unchanged
            return
        }
        var rewritten = Array(json.bytes)  // (an array's own buffer, copied by the insert as before)
        rewritten.insert(contentsOf: Self.member, at: close - json.bytes.startIndex)
        self = .rewritten(rewritten)
    }

    /// Whether `stream_options` is an object that gives `include_usage`
    /// once, as the literal `true`.
    private static func includesUsage<Bytes>(_ json: JSONReader<Bytes>, _ options: Range<Int>) -> Bool {
        guard var object = json.object(in: options) else { return false }
        var includesUsage: Bool?
        do {
            while let (key, value) = try object.nextMember() {
                guard key == "include_usage" else { continue }
                guard includesUsage == nil else { return false }
                includesUsage = json.literal(in: value) == .true
            }
        } catch {
            return false
        }
        return includesUsage == true
    }
}
