import NIOHTTP1

/// Rejects request heads whose framing two HTTP implementations could read
/// differently (request smuggling, RFC 9112 §6.3 and §11.2).
///
/// NIOHTTP1's decoder (llhttp, strict mode) already refuses most of these
/// before a head is delivered (checked with NIO 2.101): both framing fields,
/// a repeated or non-decimal `Content-Length` (`3, 3`, `+3`, `-3`), a
/// `Transfer-Encoding` other than `chunked` alone or repeated, obsolete line
/// folding, whitespace before the colon, a bare LF. Two get through it and
/// are refused only here: `Transfer-Encoding: gzip, chunked` (valid HTTP, but
/// the proxy would forward a coding the upstream may decode differently) and
/// `Transfer-Encoding` on an HTTP/1.0 request. The full rule is kept here on
/// the decoded head so it does not depend on parser versions or settings:
/// - both `Content-Length` and `Transfer-Encoding`;
/// - `Content-Length` repeated (even with equal values) or not all digits;
/// - `Transfer-Encoding` other than exactly `chunked`, or on HTTP/1.0;
/// - a field value containing CR or LF.
enum RequestFramingCheck {
    /// Why a request was refused; the message goes into the 400 response.
    struct Violation: Error, Equatable {
        let message: String
    }

    static func check(_ head: HTTPRequestHead) -> Violation? {
        // One pass over the fields, without allocating: this runs on every request.
        var contentLengthCount = 0
        var contentLength: String?
        var transferEncodingCount = 0
        var transferEncoding: String?
        for (name, value) in head.headers {
            if value.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
                return Violation(message: "header field values must not span lines")
            }
            if name.utf8.count == 14, name.lowercased() == "content-length" {
                contentLengthCount += 1
                contentLength = value
            } else if name.utf8.count == 17, name.lowercased() == "transfer-encoding" {
                transferEncodingCount += 1
                transferEncoding = value
            }
        }
        if contentLengthCount > 0 && transferEncodingCount > 0 {
            return Violation(message: "Content-Length and Transfer-Encoding must not both be present")
        }
        if contentLengthCount > 1 {
            return Violation(message: "Content-Length must be given once")
        }
        if let length = contentLength {
            guard !length.isEmpty, length.utf8.count <= 18, length.utf8.allSatisfy({ (48...57).contains($0) }) else {
                return Violation(message: "Content-Length must be a decimal number")
            }
        }
        if let coding = transferEncoding {
            if head.version.major == 1 && head.version.minor == 0 {
                return Violation(message: "Transfer-Encoding is not allowed in HTTP/1.0")
            }
            guard transferEncodingCount == 1, coding.lowercased() == "chunked" else {
                return Violation(message: "Transfer-Encoding must be exactly 'chunked'")
            }
        }
        return nil
    }
}
