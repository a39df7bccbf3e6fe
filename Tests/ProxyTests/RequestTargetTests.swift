import Testing
@testable import Proxy

/// ``RequestTarget``: what policy checks is what is forwarded.
@Suite struct RequestTargetTests {
    @Test(arguments: [
        ("/v1/models", "/v1/models"),
        ("/", "/"),
        ("/v1/chat/completions?stream=true&x=%2F", "/v1/chat/completions?stream=true&x=%2F"),
        ("/%61dmin/x", "/admin/x"),
        ("/%41%2d%5f%7e%2E", "/A-_~."),
        ("/v1/../admin/keys", "/admin/keys"),
        ("/v1/%2e%2e/admin/keys", "/admin/keys"),
        ("/v1/%2E./admin", "/admin"),
        ("//admin//x", "/admin/x"),
        ("/./admin/./x/", "/admin/x/"),
        ("/admin/x/.", "/admin/x/"),
        ("/admin/x/..", "/admin/"),
        ("/admin/..?q=1", "/?q=1"),
        ("/.well-known/x", "/.well-known/x"),
        ("/a/.../b", "/a/.../b"),
        ("/caf%C3%A9", "/caf%C3%A9"),
        ("/a%20b", "/a%20b"),
        ("http://gw/admin/x", "/admin/x"),
        ("HTTPS://gw:8443/v1/../admin?k=v", "/admin?k=v"),
        ("http://gw", "/"),
        ("http://gw?x=1", "/?x=1"),
    ])
    func normalizes(_ target: String, _ expected: String) throws {
        #expect(try RequestTarget.normalized(target).get() == expected)
    }

    @Test(arguments: [
        "/admin%2Fkeys", "/admin%2fkeys", "/a%00b", "/a\u{0}b", "/a\\b", "/a%5Cb", "/a%5cb", "/a%0Ab", "/a\tb",
        "/a b", "/a\u{7F}", "/a%", "/a%4", "/a%G1", "/a?x=\u{1}", "/a?x y", "/a#frag", "/..", "/a/../..",
        "/%2e%2e/x", "admin/x", "*", "", "ftp://gw/x", "http:///x", "http:/gw/x",
    ])
    func refusesAmbiguousTargets(_ target: String) {
        #expect(throws: RequestTarget.Violation.self) { try RequestTarget.normalized(target).get() }
    }

    @Test func unchangedTargetIsReturnedAsItCame() throws {
        let target = "/v1/chat/completions?x=1"
        #expect(try RequestTarget.normalized(target).get() == target)
    }

    /// Random targets built from the pieces attacks are made of: whatever is
    /// not refused normalizes to a fixed point with no dot segment, no
    /// repeated slash, no encoded slash, and starting with `/`.
    @Test func normalizingIsIdempotentAndLeavesNoAmbiguity() throws {
        let pieces = [
            "/", "//", ".", "..", "%2e", "%2E", "%2f", "%5c", "%61", "%7E", "%25", "%20", "a", "admin", "v1", "~", "-",
            "?", "=", "&", "%", "%0", ";", "\\", "\u{1}", "é",
        ]
        var generator = SplitMix64(seed: 0x5EED)
        var accepted = 0
        for _ in 0..<20_000 {
            var target = "/"
            for _ in 0..<Int(generator.next() % 9) {
                target += pieces[Int(generator.next() % UInt64(pieces.count))]
            }
            guard case .success(let once) = RequestTarget.normalized(target) else { continue }
            accepted += 1
            #expect(try RequestTarget.normalized(once).get() == once, "\(target)")
            let path = once.prefix { $0 != "?" }
            #expect(path.hasPrefix("/"), "\(target) -> \(once)")
            for ambiguous in ["//", "/./", "/../"] {
                #expect(!path.contains(ambiguous), "\(target) -> \(once)")
            }
            #expect(!path.hasSuffix("/.") && !path.hasSuffix("/.."), "\(target) -> \(once)")
            #expect(!path.lowercased().contains("%2f") && !path.lowercased().contains("%2e"), "\(target) -> \(once)")
        }
        #expect(accepted > 1000)  // the generator must exercise the accepting side too
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
