import Foundation
import Logging
import Testing

@testable import Backend

#if canImport(Glibc)
import Glibc
#endif

/// A ``BackendServer`` on 127.0.0.1 and a free port, its model still
/// loading (the API answers 503 past the checks in front of it), or serving
/// a fixture model.
struct BackendUnderTest {
    let server: BackendServer
    let port: Int

    /// Runs `body` with a server started for it, then stops the server (also when `body` throws).
    /// - Parameter model: a fixture model to serve (one compute thread); `nil` to stay loading.
    static func run(apiKey: BackendAPIKey? = nil, model: String? = nil, _ body: (BackendUnderTest) async throws -> Void) async throws {
        let backend = try await start(apiKey: apiKey, model: model)
        do {
            try await body(backend)
        } catch {
            await backend.server.shutdown()
            throw error
        }
        await backend.server.shutdown()
    }

    private static func start(apiKey: BackendAPIKey?, model: String?) async throws -> BackendUnderTest {
        let metrics = BackendMetrics()
        var configuration = SchedulerConfiguration()
        configuration.threads = 1
        // Without a model the registry holds one that never loads: the server stays "loading".
        let path = try FixtureModels.path(model ?? "tiny-qwen2-f16")
        let entry = ModelEntry(id: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, path: path)
        let registry = try ModelRegistry(entries: [entry], configuration: configuration, metrics: metrics, logger: Logger(label: "test.backend"))
        let host = ModelHost(registry: registry)
        if model != nil {
            _ = try await registry.load(entry.id)
            host.ready()
        }
        let server = try BackendServer(
            host: "127.0.0.1", port: 0, models: host, metrics: metrics, apiKey: apiKey, logger: Logger(label: "test.backend"))
        let address = try await server.start()
        return BackendUnderTest(server: server, port: try #require(address.port))
    }

    /// Sends `request` (a whole HTTP/1.1 message) on a new connection and
    /// reads the answer until the server closes the connection.
    ///
    /// The blocking socket calls run on a thread of their own: on the
    /// cooperative pool (two threads on a 2-core machine) they would starve
    /// the server's own tasks (finding and leasing a model), and a suite
    /// running tests in parallel would wait on itself until the timeout.
    func exchange(_ request: [UInt8]) async throws -> RawHTTPResponse {
        let port = self.port
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try RawHTTPResponse.exchange(request, port: port) })
            }
        }
    }

    /// A request with `Connection: close` and the given head lines.
    func exchange(_ requestLine: String, _ headers: [String], body: String = "") async throws -> RawHTTPResponse {
        var text = requestLine + "\r\n" + headers.map { $0 + "\r\n" }.joined() + "Connection: close\r\n"
        if !body.isEmpty { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + body
        return try await exchange(Array(text.utf8))
    }
}

/// An HTTP response as read off a socket.
struct RawHTTPResponse {
    let status: Int
    let head: String
    let body: String

    /// The status codes of every response in the bytes read (pipelined requests), in order.
    var statuses: [Int] {
        (head + "\r\n\r\n" + body).components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }

    /// The body's `error.code`, if it is an OpenAI-style error.
    var errorCode: String? {
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    struct Failure: Error { let what: String }

    /// One exchange over a plain POSIX socket, so that every byte sent is the test's.
    static func exchange(_ request: [UInt8], port: Int) throws -> RawHTTPResponse {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(what: "socket") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(what: "connect") }
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { break }  // the server may answer and close before reading everything
            sent += count
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(what: "no response head in \(text.debugDescription)") }
        let head = String(text[..<split.lowerBound])
        let statusText = head.split(separator: " ", maxSplits: 2).dropFirst().first ?? ""
        guard let status = Int(statusText) else { throw Failure(what: "no status in \(head.debugDescription)") }
        return RawHTTPResponse(status: status, head: head, body: String(text[split.upperBound...]))
    }
}
