import NIOCore
import NIOHTTP1
import Testing
@testable import Proxy

/// CIDR ranges, the allow/deny lists and `X-Forwarded-For` from trusted proxies.
@Suite struct SourceAllowlistTests {
    private func address(_ text: String) -> IPAddress { IPAddress(text)! }
    private func range(_ text: String) -> CIDRRange { CIDRRange(text)! }

    @Test func ipv4RangesMatchTheirAddressesOnly() {
        let lan = range("192.168.1.0/24")
        #expect(lan.contains(address("192.168.1.0")))
        #expect(lan.contains(address("192.168.1.255")))
        #expect(!lan.contains(address("192.168.2.1")))
        #expect(!lan.contains(address("10.0.0.1")))
        #expect(range("0.0.0.0/0").contains(address("203.0.113.9")))
        #expect(!range("0.0.0.0/0").contains(address("2001:db8::1")))
        #expect(range("10.0.0.7").contains(address("10.0.0.7")))
        #expect(!range("10.0.0.7").contains(address("10.0.0.8")))
        #expect(range("172.16.0.0/12").contains(address("172.31.255.255")))
        #expect(!range("172.16.0.0/12").contains(address("172.32.0.0")))
    }

    @Test func ipv6RangesMatchAcrossWordBoundaries() {
        #expect(range("2001:db8::/32").contains(address("2001:db8:ffff::1")))
        #expect(!range("2001:db8::/32").contains(address("2001:db9::1")))
        #expect(range("fd00:1:2:3:8000::/65").contains(address("fd00:1:2:3:ffff::1")))
        #expect(!range("fd00:1:2:3:8000::/65").contains(address("fd00:1:2:3:7fff::1")))
        #expect(range("::1").contains(address("::1")))
        #expect(range("::/0").contains(address("2001:db8::1")))
    }

    @Test func ipv4MappedIPv6PeersAreJudgedAsIPv4() {
        let mapped = address("::ffff:192.168.1.20")
        #expect(mapped == address("192.168.1.20"))
        #expect(mapped.isIPv4)
        #expect(mapped.description == "192.168.1.20")
        #expect(range("192.168.1.0/24").contains(mapped))
        #expect(range("::ffff:192.168.1.0/120").contains(address("192.168.1.20")))
        let socket = try! SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 1)
        #expect(IPAddress(socket) == address("10.1.2.3"))
        #expect(address("::ffff:127.0.0.1").isLoopback && address("::1").isLoopback && !address("::2").isLoopback)
    }

    @Test func malformedRangesAreRefused() {
        for text in ["10.0.0.1/8", "10.0.0.0/33", "2001:db8::/129", "300.1.1.1", "10.0.0.0/", "/8", "example.org", "10.0.0.0/-1"] {
            #expect(CIDRRange(text) == nil, "\(text)")
        }
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
    }

    @Test func denyWinsAndAnEmptyAllowListAllowsAll() {
        let open = SourceAllowlist()
        #expect(open.permits(address("203.0.113.1")))
        let list = SourceAllowlist(allow: [range("10.0.0.0/8"), range("fd00::/8")], deny: [range("10.0.0.13")])
        #expect(list.permits(address("10.200.0.1")))
        #expect(list.permits(address("fd12::1")))
        #expect(!list.permits(address("10.0.0.13")))
        #expect(!list.permits(address("192.168.0.1")))
        let denyOnly = SourceAllowlist(deny: [range("192.0.2.0/24")])
        #expect(!denyOnly.permits(address("192.0.2.5")) && denyOnly.permits(address("198.51.100.5")))
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let trusted = [range("10.0.0.5"), range("10.0.0.6")]
        var headers = HTTPHeaders()
        headers.add(name: "x-forwarded-for", value: "6.6.6.6, 198.51.100.7")
        headers.add(name: "x-forwarded-for", value: "10.0.0.6")
        // From a trusted proxy: the rightmost untrusted hop, not what the client wrote leftmost.
        #expect(ClientAddressResolver.client(peer: address("10.0.0.5"), headers: headers, trustedProxies: trusted)
            == address("198.51.100.7"))
        // From anyone else the header is ignored.
        #expect(ClientAddressResolver.client(peer: address("192.0.2.1"), headers: headers, trustedProxies: trusted)
            == address("192.0.2.1"))
        #expect(ClientAddressResolver.client(peer: address("10.0.0.5"), headers: headers, trustedProxies: [])
            == address("10.0.0.5"))
        var garbled = HTTPHeaders()
        garbled.add(name: "x-forwarded-for", value: "198.51.100.7, not-an-address")
        #expect(ClientAddressResolver.client(peer: address("10.0.0.5"), headers: garbled, trustedProxies: trusted)
            == address("10.0.0.5"))
    }

    @Test func allowlistFilesReadWhatTheyWriteAndRefuseAnyLineThatDoesNotParse() throws {
        let file = AllowlistFile(allow: [range("192.168.1.0/24"), range("fd00::/8")], deny: [range("192.168.1.13")])
        #expect(try AllowlistFile(text: file.serialized()) == file)
        let edited = "# comment\r\n\n  allow\t10.0.0.0/8  \r\ndeny 10.0.0.7\n"
        #expect(try AllowlistFile(text: edited) == AllowlistFile(allow: [range("10.0.0.0/8")], deny: [range("10.0.0.7")]))
        // One bad line makes the whole file invalid: a lost deny rule would open the proxy.
        for text in ["allow 10.0.0.0/8\ndeny 10.0.0.1/8\n", "permit 10.0.0.0/8", "allow", "allow 10.0.0.0/8 10.1.0.0/16",
                     "deny 300.0.0.1", "ALLOW 10.0.0.0/8"] {
            #expect(throws: AllowlistFile.Problem.self, "\(text)") { try AllowlistFile(text: text) }
        }
        #expect(try AllowlistFile.ranges(listedIn: " 10.0.0.0/8,\r\n::1 ", what: "allow") == [range("10.0.0.0/8"), range("::1")])
        #expect(try AllowlistFile.ranges(listedIn: "", what: "allow").isEmpty)
    }
}
