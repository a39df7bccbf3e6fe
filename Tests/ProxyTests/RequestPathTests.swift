import Testing
@testable import Proxy

/// How access rules read request paths: every spelling of an admin path is
/// an admin path, and a target that cannot be read fails closed.
@Suite struct RequestPathTests {
    @Test func pathsAreNormalisedBeforeMatching() {
        #expect(RequestPath(target: "/v1/models?x=1").normalized == "/v1/models")
        #expect(RequestPath(target: "/v1/../admin/x").normalized == "/admin/x")
        #expect(RequestPath(target: "//admin//x").normalized == "/admin/x")
        #expect(RequestPath(target: "/v1/%2E%2e/admin/").normalized == "/admin/")
        #expect(RequestPath(target: "/%61dmin/x").normalized == "/admin/x")
        #expect(RequestPath(target: "HTTP://gw:8443/admin/x?k=1").normalized == "/admin/x")
        #expect(RequestPath(target: "http://gw").normalized == "/")
        // Escapes of reserved or non-ASCII characters stay, in one spelling.
        #expect(RequestPath(target: "/v1/models/org%2fname").normalized == "/v1/models/org%2Fname")
        #expect(RequestPath(target: "/caf%c3%a9").normalized == "/caf%C3%A9")
        #expect(RequestPath(target: "/v1/models").lenient == nil)
        #expect(RequestPath.matches("/admin/x", ["/admin/"]))
        #expect(RequestPath.matches("/admin", ["/admin/"]))
        #expect(!RequestPath.matches("/administrator", ["/admin/"]))
        #expect(RequestPath.matches("/health", ["/health"]) && !RequestPath.matches("/health/x", ["/health"]))
        // Bytes, not Characters: a combining mark after the slash does not
        // take the path out from under `/admin/` (as Characters, "/\u{301}"
        // is one that is not "/"); nor does a canonically equal spelling
        // (é as one code point or as e + U+0301) match an entry in the other.
        #expect(RequestPath.matches("/admin/\u{301}x", ["/admin/"]))
        #expect(!RequestPath.matches("/caf\u{E9}", ["/cafe\u{301}"]))
    }

    /// The targets an inference-scope key might use to reach `/admin/`.
    @Test func everySpellingOfAnAdminPathNeedsAdminScope() {
        let admin = ["/admin/"]
        for target in [
            "http://gw/admin/x", "https://gw/admin/x", "/%61dmin/x", "/admin%2fx", "/admin%2Fx", "/admin/../admin/x",
            "//admin/x", "/v1%2f..%2fadmin/x", "/admin%5cx", "/x\\..\\admin/x", "/%2561dmin/x", "/v1/%252e%252e/admin/x",
            "*", "gw:443", "/admin%zzx", "/admin%2", "ftp://gw/admin/x",
            "/v1/models#/../../admin/x", "/admin;v=1/x", "/v1;x/..;y/admin/x", "/admin%00", "/admin%00.json",
        ] {
            #expect(RequestPath(target: target).isUnder(anyOf: admin), "\(target)")
        }
        // Paths are case-sensitive (as nginx's locations and the upstreams' routers): another path.
        #expect(!RequestPath(target: "/ADMIN/x").isUnder(anyOf: admin))
        #expect(!RequestPath(target: "/v1/models/org%2Fname").isUnder(anyOf: admin))
        #expect(!RequestPath(target: "/v1/admin/x").isUnder(anyOf: admin))
        #expect(!RequestPath(target: "/v1/models;x").isUnder(anyOf: admin))
    }

    /// Public paths exempt from authentication: only when every reading is public.
    @Test func aPathIsPublicOnlyIfEveryReadingIs() {
        let public_ = ["/health", "/docs/"]
        #expect(RequestPath(target: "/health").isEntirelyUnder(anyOf: public_))
        #expect(RequestPath(target: "/docs/../docs/a").isEntirelyUnder(anyOf: public_))
        #expect(RequestPath(target: "/%68ealth").isEntirelyUnder(anyOf: public_))
        #expect(!RequestPath(target: "/docs/..%2fv1/chat").isEntirelyUnder(anyOf: public_))
        #expect(!RequestPath(target: "/docs%2f..%2fv1/chat").isEntirelyUnder(anyOf: public_))
        #expect(!RequestPath(target: "*").isEntirelyUnder(anyOf: public_))
        #expect(!RequestPath(target: "/HEALTH").isEntirelyUnder(anyOf: public_))
    }
}
