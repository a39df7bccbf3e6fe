import NIOHTTP1

/// Sets the framing of a response head the proxy writes to a client.
///
/// The client pipeline's encoder does not frame responses itself
/// (``ClientHTTPPipeline``): it is not told which request a response
/// answers, and would frame the answer to a HEAD as chunked, then write a
/// last chunk that the client reads as the start of the next response. So
/// the proxy decides here, knowing the request:
/// - no body possible (a response to HEAD, 1xx, 204, 304): no
///   `Transfer-Encoding`; `Content-Length` kept where it describes the
///   resource (HEAD, 304) and removed where it must not appear (1xx, 204);
/// - otherwise the upstream's `Content-Length` if it gave one, else chunked
///   for HTTP/1.1 clients, else nothing (the response then ends by closing).
enum ResponseFraming {
    /// Whether the response will be written chunked.
    @discardableResult
    static func apply(
        to headers: inout HTTPHeaders, status: HTTPResponseStatus, requestMethod: HTTPMethod, clientVersion: HTTPVersion
    ) -> Bool {
        if headers.contains(name: "transfer-encoding") { headers.remove(name: "transfer-encoding") }
        let code = status.code
        if (100..<200).contains(code) || code == 204 {
            if headers.contains(name: "content-length") { headers.remove(name: "content-length") }
            return false
        }
        if requestMethod == .HEAD || code == 304 || headers.contains(name: "content-length") { return false }
        guard clientVersion.major == 1 && clientVersion.minor >= 1 else { return false }
        headers.add(name: "transfer-encoding", value: "chunked")
        return true
    }
}
