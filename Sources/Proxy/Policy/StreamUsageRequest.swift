import Foundation

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
/// The body must already have passed ``RequestBodyModel`` (one object, no
/// repeated top-level key), so `stream` read here is the upstream's.
enum StreamUsageRequest: Equatable {
    /// Not a stream, or the client asked for usage itself: forward as is.
    case unchanged
    /// The body with `include_usage` asked for; strip the usage chunk.
    case rewritten([UInt8])
    /// The body cannot be made to report usage; the reason is for the client.
    case refused(String)

    static let member = Array(#","stream_options":{"include_usage":true}"#.utf8)

    init(body: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let stream = object["stream"] as? Bool, stream
        else {
            self = .unchanged
            return
        }
        if let options = object["stream_options"] {
            let includesUsage = (options as? [String: Any])?["include_usage"] as? Bool
            self = includesUsage == true
                ? .unchanged
                : .refused("with a token quota, stream_options.include_usage must be true or stream_options absent")
            return
        }
        guard let close = body.lastIndex(of: UInt8(ascii: "}")) else {
            self = .unchanged
            return
        }
        var rewritten = body
        rewritten.insert(contentsOf: Self.member, at: close)
        self = .rewritten(rewritten)
    }
}
