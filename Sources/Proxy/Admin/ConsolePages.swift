import Foundation
import Mustache

/// Renders the console's pages from ``ConsoleTemplates``: each function
/// turns what the page shows into the template's values (plain strings,
/// numbers and flags; never a hash or a stored secret) and renders it.
struct ConsolePages: Sendable {
    /// What every page of a session shows around its content.
    struct Context: Sendable {
        var identity: ConsoleIdentity?
        /// The session's CSRF token, put in every form; `nil` before login.
        var csrfToken: String?
        var notice: String?
        var error: String?
        /// A key just made: its name and its text, shown this once.
        var newKey: [String: String]?

        init(identity: ConsoleIdentity?, csrfToken: String?, notice: String? = nil, error: String? = nil) {
            self.identity = identity
            self.csrfToken = csrfToken
            self.notice = notice
            self.error = error
        }

        /// The template values of the page frame, with `extra` added.
        func values(title: String, extra: [String: Any]) -> [String: Any] {
            var values: [String: Any] = ["title": title]
            if let csrfToken { values["csrf"] = csrfToken }
            if let identity { values["identity"] = identity.logName }
            if let notice { values["notice"] = notice }
            if let error { values["error"] = error }
            if let newKey { values["newKey"] = newKey }
            return values.merging(extra) { _, new in new }
        }
    }

    private let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all {
            // The templates are constants of this file's module: one that does not parse is a bug caught by any test.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    func render(_ template: String, _ values: [String: Any]) -> String {
        self.library.render(values, withTemplate: template) ?? ""
    }

    /// - Parameter configurationKey: the digest of `auth.api_key`'s key, which
    ///   is listed without forms: the configuration holds it, not the keys file.
    func keys(context: Context, keys: [APIKey], configurationKey: SecretDigest?) -> String {
        let rows: [[String: Any]] = keys.sorted { $0.name < $1.name }.map { key in
            Self.limitValues(key.limits).merging([
                "name": key.name, "scope": key.scope.rawValue, "scopeIsAdmin": key.scope == .admin, "prefix": key.prefix,
                "inConfiguration": key.digest == configurationKey,
                "created": APIKeyFile.text(key.created), "expires": key.expires.map(APIKeyFile.text) ?? APIKeyFile.never,
                // The expiry form's value: empty for never, as the form reads an empty field.
                "expiresValue": key.expires.map(APIKeyFile.text) ?? "",
            ]) { _, new in new }
        }
        return self.render("keys", context.values(title: "Keys", extra: ["keys": rows, "onKeys": true]))
    }

    /// - Parameter limits: by identity, as ``AccessPolicy/limits`` holds them (users by name).
    func users(
        context: Context, users: [String], admins: Set<String>, limits: [String: IdentityLimits], configuration: AccessConfiguration
    ) -> String {
        let rows: [[String: Any]] = users.sorted().map { user in
            Self.limitValues(limits[user] ?? IdentityLimits()).merging(["name": user, "admin": admins.contains(user)]) { _, new in new }
        }
        var extra: [String: Any] = ["users": rows, "onUsers": true]
        if let path = configuration.htpasswdPath { extra["htpasswd"] = path }
        if let path = configuration.userLimitsPath { extra["limitsFile"] = path }
        return self.render("users", context.values(title: "Users", extra: extra))
    }

    /// The values of the limits form (``ConsoleTemplates/limitFields``): all
    /// the limits as text (`limits`), and each one's value (`limit_models`, …).
    private static func limitValues(_ limits: IdentityLimits) -> [String: Any] {
        var values: [String: Any] = ["limits": limits.fields.joined(separator: " ")]
        for field in limits.fields {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values["limit_\(parts[0])"] = String(parts[1]) }
        }
        return values
    }

    func allowlists(context: Context, configuration: AccessConfiguration, file: AllowlistFile) -> String {
        func list(_ ranges: [CIDRRange]) -> String { ranges.isEmpty ? "(none)" : ranges.map(\.description).joined(separator: ", ") }
        var extra: [String: Any] = [
            "allow": list(configuration.allow), "deny": list(configuration.deny),
            "trusted": list(configuration.trustedProxies), "onAllowlists": true,
        ]
        if let path = configuration.allowlistPath {
            extra["file"] = [
                "path": path,
                "allow": file.allow.map(\.description).joined(separator: "\n"),
                "deny": file.deny.map(\.description).joined(separator: "\n"),
            ]
        }
        return self.render("allowlists", context.values(title: "Allowlists", extra: extra))
    }

    func dashboard(
        context: Context, upstreams: [(address: String, up: Bool, inFlight: Int)], statuses: [Int: Int], openConnections: Int,
        rows: [UsageRow], keyCount: Int, userCount: Int, now: Date = Date()
    ) -> String {
        let hour = UsageRow.hour(of: now)
        let thisHour = rows.filter { $0.hour == hour }.reduce(Int64(0)) { $0 &+ $1.tokens }
        let elapsed = max(1.0, now.timeIntervalSince1970 - Double(hour))
        var models: [String: (requests: Int64, tokens: Int64)] = [:]
        for row in rows where row.model != "-" {
            models[row.model, default: (0, 0)].requests += row.requests
            models[row.model, default: (0, 0)].tokens &+= row.tokens
        }
        return self.render("dashboard", context.values(title: "Dashboard", extra: [
            "onDashboard": true,
            "inFlight": upstreams.reduce(0) { $0 + $1.inFlight },
            "tokensThisHour": thisHour,
            "tokensPerSecond": String(format: "%.2f", Double(thisHour) / elapsed),
            "openConnections": openConnections, "keyCount": keyCount, "userCount": userCount,
            "upstreams": upstreams.map { ["address": $0.address, "up": $0.up, "inFlight": $0.inFlight] as [String: Any] },
            "models": models.sorted { $0.key < $1.key }.map {
                ["model": $0.key, "requests": $0.value.requests, "tokens": $0.value.tokens] as [String: Any]
            },
            "statuses": statuses.sorted { $0.key < $1.key }.map { ["status": $0.key, "count": $0.value] as [String: Any] },
        ]))
    }

    func usage(context: Context, rows: [UsageRow], selected: String?, now: Date = Date()) -> String {
        var totals: [String: UsageRow] = [:]
        for row in rows {
            var total = totals[row.identity] ?? UsageRow(hour: 0, identity: row.identity, model: "-")
            total.requests += row.requests
            total.promptTokens &+= row.promptTokens
            total.completionTokens &+= row.completionTokens
            total.clientErrors += row.clientErrors
            total.serverErrors += row.serverErrors
            totals[row.identity] = total
        }
        let identities: [[String: Any]] = totals.values.sorted { $0.identity < $1.identity }.map { total in
            [
                "identity": total.identity,
                "query": total.identity.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "",
                "requests": total.requests, "promptTokens": total.promptTokens, "completionTokens": total.completionTokens,
                "errors": total.clientErrors + total.serverErrors,
            ]
        }
        var extra: [String: Any] = ["identities": identities, "onUsage": true]
        if let selected {
            let chart = ConsoleUsageChart(rows: rows.filter { $0.identity == selected }, now: Int64(now.timeIntervalSince1970))
            let formatter = ISO8601DateFormatter()
            extra["chart"] = [
                "identity": selected, "width": ConsoleUsageChart.width, "height": ConsoleUsageChart.height,
                "maximum": chart.maximum, "axisY": ConsoleUsageChart.height - 8, "nowX": ConsoleUsageChart.width - 30,
                "bars": chart.bars.map { bar in
                    [
                        "x": bar.x, "y": bar.y, "barWidth": ConsoleUsageChart.barWidth, "barHeight": bar.height,
                        "tokens": bar.tokens, "requests": bar.requests,
                        "label": formatter.string(from: Date(timeIntervalSince1970: Double(bar.hour))),
                    ] as [String: Any]
                },
            ] as [String: Any]
        }
        return self.render("usage", context.values(title: "Usage", extra: extra))
    }
}
