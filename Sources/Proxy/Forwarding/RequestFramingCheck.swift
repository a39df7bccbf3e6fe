import NIOHTTP1

/// Rejects request heads whose framing two HTTP implementations could read
/// differently (request smuggling, RFC 9112 §6.3 and §11.2).
///
/// NIOHTTP1's decoder (llhttp) already refuses malformed framing it parses —
/// see the tests — but the checks are repeated here on the decoded head so
/// that the proxy's own rule is written in one place and does not depend on
/// parser leniency settings:
/// - both `Content-Length` and `Transfer-Encoding`;
/// - `Content-Length` repeated (even with equal values) or not all digits;
/// - `Transfer-Encoding` other than exactly `chunked`, or on HTTP/1.0;
/// - a field value containing CR or LF (obsolete line folding that reached us).
enum RequestFramingCheck {
    /// Why a request was refused; the message goes into the 400 response.
    struct Violation: Error, Equatable {
        let message: String
    }

    static func check(_ head: HTTPRequestHead) -> Violation? {
        let contentLengths = head.headers[canonicalForm: "content-length"]
        let transferEncodings = head.headers[canonicalForm: "transfer-encoding"]

        if !contentLengths.isEmpty && !transferEncodings.isEmpty {
            return Violation(message: "Content-Length and Transfer-Encoding must not both be present")
        }
        if contentLengths.count > 1 {
            return Violation(message: "Content-Length must be given once")
        }
        if let length = contentLengths.first {
            guard !length.isEmpty, length.utf8.count <= 18, length.utf8.allSatisfy({ (48...57).contains($0) }) else {
                return Violation(message: "Content-Length must be a decimal number")
            }
        }
        if !transferEncodings.isEmpty {
            if head.version.major == 1 && head.version.minor == 0 {
                return Violation(message: "Transfer-Encoding is not allowed in HTTP/1.0")
            }
            guard transferEncodings.count == 1, transferEncodings[0].lowercased() == "chunked" else {
                return Violation(message: "Transfer-Encoding must be exactly 'chunked'")
            }
        }
        for (_, value) in head.headers
        where value.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            return Violation(message: "header field values must not span lines")
        }
        return nil
    }

    /// The declared body length, once ``check(_:)`` has passed.
    static func contentLength(of head: HTTPRequestHead) -> Int? {
        head.headers.first(name: "content-length").flatMap { Int($0) }
    }
}
