import Foundation

/// Where the PostgreSQL server that several proxies share state in is:
/// `state.postgres`, a libpq-style URL
/// `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE`.
///
/// The URL never carries the password (one in it is refused, so it cannot
/// end up in a log line or an error): the password is read from
/// `state.postgres_password_file` each time a connection is made, so a
/// rotated password is picked up on the next reconnect.
public struct PostgresSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var tls: TLSMode

    /// libpq's `sslmode`, the three values this client can honour.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP (a server on loopback or a private network).
        case disable
        /// TLS when the server offers it (libpq's default).
        case prefer
        /// TLS or no connection, with the server's certificate verified
        /// against the system's trust store and its name.
        case require
    }

    public init(host: String, port: Int = 5432, user: String, database: String, tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.tls = tls
    }

    /// Reads `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…]` (or
    /// `postgresql://`); `nil` for anything else, a password included.
    /// The database defaults to the user's name, the port to 5432, `sslmode` to `prefer`.
    public init?(url text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql",
            components.password == nil, components.fragment == nil,
            let user = components.user, !user.isEmpty,
            let host = components.host, !host.isEmpty
        else { return nil }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.contains("/") else { return nil }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode", let mode = item.value.flatMap(TLSMode.init(rawValue:)) else { return nil }
            tls = mode
        }
        if let port = components.port, !(1...65_535).contains(port) { return nil }
        // An IPv6 address is written in brackets in a URL, and without them to a socket.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(
            host: bare, port: components.port ?? 5432, user: user.removingPercentEncoding ?? user,
            database: path.isEmpty ? user : (path.removingPercentEncoding ?? path), tls: tls)
    }

    /// The server as logs and errors name it: `postgres://USER@HOST:PORT/DATABASE` (there is never a password to hide).
    public var displayName: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "postgres://\(self.user)@\(host):\(self.port)/\(self.database)"
    }
}

/// What a proxy does with requests that need state shared in PostgreSQL
/// (an identity with a token quota) while the server cannot be reached:
/// `state.on_unavailable`.
public enum SharedStateFailureMode: String, Sendable, CaseIterable {
    /// Refuse them, 503 with `Retry-After` (the default): no replica can
    /// then serve past a quota while it cannot see the others' counts.
    case closed
    /// Serve them, counting their tokens locally against what was last read,
    /// and write the counts when the server is back.
    case open
}
