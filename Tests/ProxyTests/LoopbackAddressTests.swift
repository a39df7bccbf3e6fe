#if canImport(Glibc)
import Glibc
#endif
import Loopback
import NIOCore
import Testing

@testable import Proxy

/// Every form in which the proxy and the backend meet an address (the
/// proxy's ``IPAddress``, NIO's `SocketAddress`, host text, a listener's
/// ``HostAndPort``) gets the one answer of ``LoopbackAddress``, checked on
/// random addresses near loopback and far from it against the rule read
/// straight off the 16 bytes `inet_pton` gives.
@Suite struct LoopbackAddressTests {
    private static func expected(_ text: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: v4) { $0[0] } == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }

    private static func randomAddress(using generator: inout some RandomNumberGenerator) -> String {
        func octet() -> Int { Int.random(in: 0...255, using: &generator) }
        func group() -> String { String(Int.random(in: 0...0xFFFF, using: &generator), radix: 16) }
        let first = [127, 126, 128, 0, 10, 255, octet()].randomElement(using: &generator)!
        let v4 = "\(first).\(octet()).\(octet()).\(octet())"
        switch Int.random(in: 0..<6, using: &generator) {
        case 0, 1: return v4
        case 2: return "::ffff:" + v4
        case 3: return ["::1", "::", "::2", "0:0:0:0:0:0:0:1", "::1:0", "1::1", "::ffff:0:1"].randomElement(using: &generator)!
        case 4: return "::" + [group(), "1"].randomElement(using: &generator)!
        default: return (0..<8).map { _ in Bool.random(using: &generator) ? "0" : group() }.joined(separator: ":")
        }
    }

    @Test func everyFormOfAnAddressGetsTheSameAnswer() throws {
        var generator = SystemRandomNumberGenerator()
        var loopbacks = 0
        for _ in 0..<3000 {
            let text = Self.randomAddress(using: &generator)
            let expected = Self.expected(text)
            if expected { loopbacks += 1 }
            #expect(try #require(IPAddress(text)).isLoopback == expected, "\(text)")
            #expect(LoopbackAddress.isLoopback(try SocketAddress(ipAddress: text, port: 0)) == expected, "\(text)")
            #expect(LoopbackAddress.isLoopback(host: text) == expected, "\(text)")
            #expect(HostAndPort(host: text, port: 8443).isLoopback == expected, "\(text)")
        }
        // Both answers were seen often enough for the comparison to mean something.
        #expect(loopbacks > 300 && loopbacks < 2700)
        for name in ["localhost", "LocalHost"] { #expect(HostAndPort(host: name, port: 1).isLoopback) }
        for name in ["example.com", "localhost.example.com", "127.0.0.1.nip.io", ""] {
            #expect(!HostAndPort(host: name, port: 1).isLoopback)
        }
    }
}
