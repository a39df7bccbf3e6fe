import Logging
import NIOCore
import NIOHTTP1
import Testing
@testable import Proxy

/// What the proxy writes about requests: client text escaped, queries left
/// out, metric labels never chosen by a client; and how it counts peers.
@Suite struct ForwardingObservabilityTests {
    @Test func accessLogWritesTheEscapedPathWithoutTheQuery() throws {
        let lines = CapturedLog()
        let logger = lines.logger()
        let head = HTTPRequestHead(version: .http1_1, method: .RAW(value: "GE\u{1B}T"), uri: "/v1/\u{1B}[2Jx\nfake?api_key=secret")
        let exchange = Exchange(clientHead: head, framing: .none, now: .now())
        AccessLog.record(exchange, status: 200, client: "192.0.2.1", upstream: nil, logger: logger, now: .now())
        let metadata = try #require(lines.entries.first)
        #expect(metadata["request.path"] == "/v1/\\x1B[2Jx\\x0Afake")
        #expect(metadata["request.method"] == "GE\\x1BT")
        #expect(!metadata.values.contains { $0.contains("secret") })
    }

    @Test func statusLabelsStayInTheValidRange() {
        let metrics = ProxyMetrics(balancer: UpstreamBalancer(upstreams: [], health: .init()))
        metrics.requestAnswered(status: 200)
        metrics.requestAnswered(status: 123_456)
        let text = metrics.render()
        #expect(text.contains("lmgate_proxy_requests_total{status=\"200\"} 1\n"))
        #expect(text.contains("lmgate_proxy_requests_total{status=\"0\"} 1\n"))
        #expect(!text.contains("123456"))
    }

    @Test func ipv6PeersAreCountedPerSlash64AndIPv4PerAddress() throws {
        func key(_ address: String) throws -> IPAddress? {
            ConnectionRegistry.countingKey(of: try SocketAddress(ipAddress: address, port: 1))
        }
        #expect(try key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(try key("2001:db8:1:2::1") != key("2001:db8:1:3::1"))
        #expect(try key("192.0.2.1") != key("192.0.2.2"))
        #expect(try key("::ffff:192.0.2.1") == key("192.0.2.1"))
    }

    @Test(arguments: [
        // status, method, upstream fields, expected framing fields (content-length, transfer-encoding)
        (200, HTTPMethod.GET, [("content-length", "2")], ["2"], [String]()),
        (200, .GET, [("transfer-encoding", "chunked")], [], ["chunked"]),
        (200, .GET, [], [], ["chunked"]),
        (200, .HEAD, [("content-length", "9")], ["9"], []),
        (200, .HEAD, [("transfer-encoding", "chunked")], [], []),
        (204, .GET, [("content-length", "0")], [], []),
        (304, .GET, [("content-length", "9")], ["9"], []),
    ])
    func responsesAreFramedByTheProxy(
        _ status: Int, _ method: HTTPMethod, _ fields: [(String, String)], _ length: [String], _ coding: [String]
    ) {
        var headers = HTTPHeaders(fields)
        ResponseFraming.apply(
            to: &headers, status: HTTPResponseStatus(statusCode: status), requestMethod: method, clientVersion: .http1_1)
        #expect(headers["content-length"] == length)
        #expect(headers["transfer-encoding"] == coding)
    }
}
