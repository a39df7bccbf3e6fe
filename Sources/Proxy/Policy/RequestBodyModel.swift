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

    /// Deepest nesting skipped over before the body is refused.
    static let maxDepth = 128

    /// Reads the `model` of a JSON request body.
    public init(body: some Collection<UInt8>) {
        var reader = Reader(bytes: Array(body))
        do {
            self = try reader.topLevelModel()
        } catch {
            self = .refused(error.reason)
        }
    }

    struct Failure: Error {
        let reason: String
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func topLevelModel() throws(Failure) -> RequestBodyModel {
            self.skipWhitespace()
            try self.expect(UInt8(ascii: "{"), "the body is not a JSON object")
            var model: String?
            var keys = Set<String>()
            self.skipWhitespace()
            if self.peek == UInt8(ascii: "}") {
                self.index += 1
            } else {
                while true {
                    self.skipWhitespace()
                    let key = try self.string()
                    self.skipWhitespace()
                    try self.expect(UInt8(ascii: ":"), "the body is not valid JSON")
                    self.skipWhitespace()
                    if key == "model" {
                        guard model == nil else { throw Failure(reason: "the body gives \"model\" more than once") }
                        keys.insert(key)
                        guard self.peek == UInt8(ascii: "\"") else { throw Failure(reason: "\"model\" must be a string") }
                        model = try self.string()
                    } else {
                        // Other keys once too: the proxy's reading of `stream` must be the upstream's.
                        guard keys.insert(key).inserted else {
                            throw Failure(reason: "the body gives \"\(LogField.escaped(key, limit: 64))\" more than once")
                        }
                        if key.lowercased() == "model" {
                            throw Failure(reason: "the body has a key \"\(LogField.escaped(key, limit: 64))\" that differs from \"model\" only in case")
                        }
                        try self.skipValue(depth: 1)
                    }
                    self.skipWhitespace()
                    if self.peek == UInt8(ascii: ",") {
                        self.index += 1
                        continue
                    }
                    try self.expect(UInt8(ascii: "}"), "the body is not valid JSON")
                    break
                }
            }
            self.skipWhitespace()
            guard self.index == self.bytes.count else { throw Failure(reason: "the body has bytes after its JSON object") }
            return model.map(RequestBodyModel.model) ?? .missing
        }

        var peek: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

        mutating func expect(_ byte: UInt8, _ reason: String) throws(Failure) {
            guard self.peek == byte else { throw Failure(reason: reason) }
            self.index += 1
        }

        mutating func skipWhitespace() {
            while let byte = self.peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { self.index += 1 }
        }

        /// A JSON string, unescaped; invalid escapes, control characters
        /// and invalid UTF-8 are refused.
        mutating func string() throws(Failure) -> String {
            let invalid = Failure(reason: "the body is not valid JSON")
            try self.expect(UInt8(ascii: "\""), "the body is not valid JSON")
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() throws(Failure) {
                guard !run.isEmpty else { return }
                guard let text = String(validating: run, as: UTF8.self) else { throw invalid }
                scalars.append(contentsOf: text.unicodeScalars)
                run.removeAll()
            }
            while true {
                guard let byte = self.peek else { throw invalid }
                self.index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    try flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush()
                    guard let escape = self.peek else { throw invalid }
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
                            guard self.peek == UInt8(ascii: "\\") else { throw invalid }
                            self.index += 1
                            try self.expect(UInt8(ascii: "u"), "the body is not valid JSON")
                            let low = try self.hex4()
                            guard (0xDC00..<0xE000).contains(low),
                                let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            else { throw invalid }
                            scalars.append(scalar)
                        } else {
                            guard let scalar = Unicode.Scalar(unit) else { throw invalid }
                            scalars.append(scalar)
                        }
                    default:
                        throw invalid
                    }
                case 0..<0x20:
                    throw invalid
                default:
                    run.append(byte)
                }
            }
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard self.index + 4 <= self.bytes.count else { throw Failure(reason: "the body is not valid JSON") }
            var value: UInt32 = 0
            for byte in self.bytes[self.index..<self.index + 4] {
                guard let digit = Self.hexDigit(byte) else { throw Failure(reason: "the body is not valid JSON") }
                value = value << 4 | UInt32(digit)
            }
            self.index += 4
            return value
        }

        static func hexDigit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }

        /// Skips one JSON value. Nested keys are not decoded (duplicates
        /// there do not change the model), but strings are read whole, so a
        /// brace inside one is not taken for structure.
        mutating func skipValue(depth: Int) throws(Failure) {
            guard depth <= RequestBodyModel.maxDepth else { throw Failure(reason: "the body is nested too deeply") }
            self.skipWhitespace()
            guard let byte = self.peek else { throw Failure(reason: "the body is not valid JSON") }
            switch byte {
            case UInt8(ascii: "\""):
                _ = try self.string()
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
                        _ = try self.string()
                        self.skipWhitespace()
                        try self.expect(UInt8(ascii: ":"), "the body is not valid JSON")
                    }
                    try self.skipValue(depth: depth + 1)
                    self.skipWhitespace()
                    if self.peek == UInt8(ascii: ",") {
                        self.index += 1
                        continue
                    }
                    try self.expect(close, "the body is not valid JSON")
                    return
                }
            default:
                // A number or a literal: its characters up to a delimiter.
                let start = self.index
                while let next = self.peek, !Self.isDelimiter(next) { self.index += 1 }
                let token = self.bytes[start..<self.index]
                guard !token.isEmpty, Self.isLiteralOrNumber(token) else { throw Failure(reason: "the body is not valid JSON") }
            }
        }

        static func isDelimiter(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")
                || byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        }

        static func isLiteralOrNumber(_ token: ArraySlice<UInt8>) -> Bool {
            let text = String(decoding: token, as: UTF8.self)
            if text == "true" || text == "false" || text == "null" { return true }
            return token.allSatisfy { byte in
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                    || byte == UInt8(ascii: "E")
            }
        }
    }
}
