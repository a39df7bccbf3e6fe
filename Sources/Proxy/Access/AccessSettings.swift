/// The access-control rows of ``ConfigurationSetting/all``: allowlists,
/// credentials and authentication policy (see ``AccessConfiguration``).
extension ConfigurationSetting {
    static let accessSettings: [ConfigurationSetting] = [
        .init(key: "access.allow", expected: "CIDR ranges such as 192.168.1.0/24 or fd00::/8") { draft, value in
            cidrs(&draft.configuration.access.allow, value)
        },
        .init(key: "access.deny", expected: "CIDR ranges such as 192.168.1.13/32") { draft, value in
            cidrs(&draft.configuration.access.deny, value)
        },
        .init(key: "access.allowlist_file", expected: "a file of 'allow RANGE' / 'deny RANGE' lines (the console edits it)") {
            draft, value in
            path(&draft.configuration.access.allowlistPath, value)
        },
        .init(key: "access.trusted_proxies", expected: "CIDR ranges of proxies whose X-Forwarded-For is believed") {
            draft, value in
            cidrs(&draft.configuration.access.trustedProxies, value)
        },
        .init(key: "auth.htpasswd", expected: "an htpasswd file path") { draft, value in
            path(&draft.configuration.access.htpasswdPath, value)
        },
        .init(key: "auth.keys_file", expected: "a keys file path (made by `lmgate keys create`)") { draft, value in
            path(&draft.configuration.access.keysPath, value)
        },
        .init(key: "auth.user_limits", expected: "a file of Basic users' limits (USER models=A,B max_concurrent=N)") {
            draft, value in
            path(&draft.configuration.access.userLimitsPath, value)
        },
        .init(key: "auth.api_key", expected: "a key of at least 16 characters") { draft, value in
            path(&draft.configuration.access.apiKey, value)
        },
        .init(key: "auth.methods", expected: "basic, key or either") { draft, value in
            guard let methods = value.text.flatMap(AccessConfiguration.Methods.init(rawValue:)) else { return false }
            draft.configuration.access.methods = methods
            return true
        },
        .init(key: "auth.listener_methods", expected: "ADDRESS=basic|key|either items, e.g. 0.0.0.0:8443=key") {
            draft, value in
            var methods: [HostAndPort: AccessConfiguration.Methods] = [:]
            for item in value.items {
                guard let equals = item.lastIndex(of: "="),
                    let address = HostAndPort(parsing: item[..<equals]),
                    let method = AccessConfiguration.Methods(rawValue: String(item[item.index(after: equals)...]))
                else { return false }
                methods[address] = method
            }
            draft.configuration.access.listenerMethods = methods
            return true
        },
        .init(key: "auth.realm", expected: "a realm name without quotes") { draft, value in
            guard let text = value.text, !text.contains("\""), !text.contains("\\") else { return false }
            draft.configuration.access.realm = text
            return true
        },
        .init(key: "auth.public_paths", expected: "paths such as /health (a trailing / matches a prefix)") { draft, value in
            paths(&draft.configuration.access.publicPaths, value)
        },
        .init(key: "auth.admin_paths", expected: "paths such as /admin/ (a trailing / matches a prefix)") { draft, value in
            paths(&draft.configuration.access.adminPaths, value)
        },
        .init(key: "auth.identity_header", expected: "a header name, or empty for none") { draft, value in
            guard let text = value.text else { return false }
            draft.configuration.access.identityHeader = text
            return true
        },
        .init(key: "auth.upstream_api_key", expected: "the key the upstream expects") { draft, value in
            path(&draft.configuration.access.upstreamAPIKey, value)
        },
        .init(key: "auth.skip_loopback", expected: "true or false") { draft, value in
            guard let flag = value.text.flatMap(SettingValueParsing.boolean) else { return false }
            draft.configuration.access.skipLoopback = flag
            return true
        },
        .init(key: "auth.cache_size", expected: "a number of entries, at least 1") { draft, value in
            guard let count = value.text.flatMap(SettingValueParsing.count), count >= 1 else { return false }
            draft.configuration.access.cacheSize = count
            return true
        },
        .init(key: "auth.lockout.max_failures", expected: "a whole number (0 turns lockout off)") { draft, value in
            guard let count = value.text.flatMap(SettingValueParsing.count) else { return false }
            draft.configuration.access.lockoutMaxFailures = count
            return true
        },
        .init(key: "auth.lockout.window", expected: "a duration such as 5m") { draft, value in
            duration(&draft.configuration.access.lockoutWindow, value)
        },
        .init(key: "auth.lockout.duration", expected: "a duration such as 5m") { draft, value in
            duration(&draft.configuration.access.lockoutDuration, value)
        },
        .init(key: "auth.lockout_ipv6_prefix", expected: "a prefix length such as 64 (IPv6 clients are counted per network)") {
            draft, value in
            guard let bits = value.text.flatMap(SettingValueParsing.count) else { return false }
            draft.configuration.access.lockoutIPv6PrefixLength = bits
            return true
        },
        .init(key: "auth.rate_limit", expected: "a rate such as 600/m, or off") { draft, value in
            guard let text = value.text else { return false }
            if ["off", "none", ""].contains(text.lowercased()) {
                draft.configuration.access.rateLimit = nil
                return true
            }
            guard let rate = RequestRate(text) else { return false }
            draft.configuration.access.rateLimit = rate
            return true
        },
        .init(key: "cors.origins", expected: "origins such as https://app.example (or *)") { draft, value in
            guard value.items.allSatisfy({ $0 == "*" || $0.hasPrefix("http://") || $0.hasPrefix("https://") }) else {
                return false
            }
            draft.configuration.access.corsOrigins = value.items
            return true
        },
    ]

    private static func cidrs(_ target: inout [CIDRRange], _ value: SettingValue) -> Bool {
        let ranges = value.items.map(CIDRRange.init)
        guard ranges.allSatisfy({ $0 != nil }) else { return false }
        target = ranges.compactMap { $0 }
        return true
    }

    private static func path(_ target: inout String?, _ value: SettingValue) -> Bool {
        guard let text = value.text else { return false }
        target = text.isEmpty ? nil : text
        return true
    }

    private static func paths(_ target: inout [String], _ value: SettingValue) -> Bool {
        guard value.items.allSatisfy({ $0.hasPrefix("/") }) else { return false }
        target = value.items
        return true
    }

    private static func duration(_ target: inout Duration, _ value: SettingValue) -> Bool {
        guard let duration = value.text.flatMap(SettingValueParsing.duration) else { return false }
        target = duration
        return true
    }
}
