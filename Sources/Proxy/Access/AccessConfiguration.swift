/// The access-control part of ``ProxyConfiguration``: allowlists,
/// authentication and its policy. All of it can be reloaded.
public struct AccessConfiguration: Sendable, Equatable {
    /// Which credentials a listener accepts.
    public enum Methods: String, Sendable, Equatable, CaseIterable {
        case basic, key, either
        var acceptsBasic: Bool { self != .key }
        var acceptsKey: Bool { self != .basic }
    }

    /// Addresses allowed to connect; empty for all (see ``SourceAllowlist``).
    public var allow: [CIDRRange] = []
    /// Addresses refused even if allowed.
    public var deny: [CIDRRange] = []
    /// A file of more `allow`/`deny` ranges (``AllowlistFile``), the ones the admin console edits.
    public var allowlistPath: String?
    /// Proxies whose `X-Forwarded-For` names the real client.
    public var trustedProxies: [CIDRRange] = []

    /// An htpasswd file for Basic authentication.
    public var htpasswdPath: String?
    /// A keys file written by `lmgate keys`.
    public var keysPath: String?
    /// Basic users' allowed models and concurrency (``UserLimitsFile``).
    public var userLimitsPath: String?
    /// A single key (`--api-key`, as llama.cpp's), with admin scope, named `main`.
    public var apiKey: String?

    /// Credentials accepted on every listener without its own entry in ``listenerMethods``.
    public var methods: Methods = .either
    /// Per-listener methods, by listener address.
    public var listenerMethods: [HostAndPort: Methods] = [:]
    /// The realm of `WWW-Authenticate: Basic`.
    public var realm = "lmgate"
    /// Paths served without credentials: exact, or a prefix when ending in `/`.
    public var publicPaths = ["/health"]
    /// Paths that need admin scope (same matching as ``publicPaths``).
    /// Matched case-sensitively, and failing closed: a path needs admin
    /// scope if any way an upstream may read it is under one (see ``RequestPath``).
    public var adminPaths = ["/admin/"]
    /// The request header that carries the authenticated identity upstream; empty for none.
    public var identityHeader = "X-Authenticated-User"
    /// Sent upstream as `Authorization: Bearer …` (for an upstream that wants its own key).
    public var upstreamAPIKey: String?
    /// Loopback clients need no credentials (oMLX's "skip verification").
    public var skipLoopback = false
    /// Most verified Basic credentials remembered.
    public var cacheSize = 10_000
    /// Failures within ``lockoutWindow`` that lock an address out; 0 for never.
    public var lockoutMaxFailures = 10
    public var lockoutWindow: Duration = .seconds(300)
    public var lockoutDuration: Duration = .seconds(300)
    /// IPv6 clients are counted per network of this many leading bits (one
    /// host usually holds a whole /64); IPv4 clients per address.
    public var lockoutIPv6PrefixLength = 64
    /// Requests per identity; nil for unlimited.
    public var rateLimit: RequestRate?
    /// Browser origins allowed by CORS (`*` for any); empty for no CORS headers.
    public var corsOrigins: [String] = []

    public init() {}

    /// Whether any credential source is configured, i.e. requests must authenticate.
    public var requiresAuthentication: Bool {
        self.htpasswdPath != nil || self.keysPath != nil || self.apiKey != nil
    }

    /// The methods a listener accepts.
    public func methods(for listener: HostAndPort) -> Methods {
        self.listenerMethods[listener] ?? self.methods
    }

    /// Problems that make the settings unusable together with these listeners.
    func problems(listeners: [ListenerConfiguration]) -> [String] {
        var problems: [String] = []
        let hasBasic = self.htpasswdPath != nil
        let hasKeys = self.keysPath != nil || self.apiKey != nil
        if self.skipLoopback {
            if !self.requiresAuthentication {
                problems.append("auth.skip_loopback is set but no credentials are configured (auth.htpasswd, auth.keys_file or auth.api_key)")
            }
            for listener in listeners where !listener.address.isLoopback {
                problems.append(
                    "auth.skip_loopback would let clients of \(listener.address) in without credentials when they "
                        + "arrive through a local forwarder: it is only allowed when every listener is on a loopback address")
            }
            if self.trustedProxies.contains(where: { $0.network.isLoopback || $0.contains(IPAddress("127.0.0.1")!) }) {
                problems.append("auth.skip_loopback cannot be combined with a loopback access.trusted_proxies entry")
            }
        }
        if self.requiresAuthentication {
            for listener in listeners {
                let methods = self.methods(for: listener.address)
                if methods == .basic && !hasBasic {
                    problems.append("listener \(listener.address) accepts only Basic authentication but auth.htpasswd is not set")
                }
                if methods == .key && !hasKeys {
                    problems.append("listener \(listener.address) accepts only API keys but neither auth.keys_file nor auth.api_key is set")
                }
            }
        }
        for address in self.listenerMethods.keys where !listeners.contains(where: { $0.address == address }) {
            problems.append("auth.listener_methods names \(address), which is not a listener")
        }
        if let key = self.apiKey, key.utf8.count < 16 {
            problems.append("auth.api_key must be at least 16 characters (use `lmgate keys create` for a random one)")
        }
        if self.lockoutMaxFailures > 0 && (self.lockoutWindow <= .zero || self.lockoutDuration <= .zero) {
            problems.append("auth.lockout.window and auth.lockout.duration must be longer than zero")
        }
        if !(16...128).contains(self.lockoutIPv6PrefixLength) {
            problems.append("auth.lockout_ipv6_prefix must be a prefix length from 16 to 128")
        }
        if !self.identityHeader.isEmpty, !self.identityHeader.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) {
            problems.append("auth.identity_header must be a header name")
        }
        return problems
    }
}
