/// Text from a request made safe to put in a log line.
///
/// A client chooses user names, paths and header values; written as they
/// came, a newline in one of them would forge a second log line, and a
/// terminal escape would rewrite what an operator sees. Every value from a
/// client goes through ``LogField/escaped(_:limit:)`` before it is logged:
/// C0 controls, DEL and the C1 controls are written as `\xHH` (and `\` as
/// `\\`, so an escape in the input cannot pass for one added here), and the
/// result is cut at `limit` characters, marked with `…`.
public enum LogField {
    /// `text` with control characters escaped, at most `limit` characters long.
    public static func escaped(_ text: some StringProtocol, limit: Int = 256) -> String {
        // The common case: printable ASCII that fits, returned as it is.
        let utf8 = text.utf8
        if utf8.count <= limit, utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) {
            return String(text)
        }
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                result += "…"
                break
            }
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) {
                let hex = String(value, radix: 16, uppercase: true)
                result += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            } else if scalar == "\\" {
                result += "\\\\"
            } else {
                result.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return result
    }

    /// The path of a request target without its query or fragment (which may
    /// carry a key, `?api_key=…`), escaped.
    public static func path(of target: some StringProtocol, limit: Int = 256) -> String {
        let end = target.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? target.endIndex
        return self.escaped(target[..<end], limit: limit)
    }
}
