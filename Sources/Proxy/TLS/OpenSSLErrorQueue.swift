import COpenSSL

/// OpenSSL reports failures on a per-thread error queue. These helpers empty
/// it before a call (so stale entries from an unrelated call are not blamed)
/// and turn what a failed call left into readable text for ``TLSError``.
enum OpenSSLErrorQueue {
    /// Drops whatever an earlier call left on this thread's queue.
    static func clear() {
        ERR_clear_error()
    }

    /// Empties this thread's queue into one line, oldest entry first.
    static func drain() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no detail from OpenSSL" : messages.joined(separator: "; ")
    }

    /// A ``TLSError`` with `code` and the drained queue, prefixed by `context`.
    static func error(_ code: TLSError.Code, _ context: String) -> TLSError {
        TLSError(code, "\(context): \(drain())")
    }
}
