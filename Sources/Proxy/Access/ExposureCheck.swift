/// The rule that keeps lmgate from serving other machines without
/// authentication: `lmgate serve` checks it before it starts, and every
/// reload checks it before swapping a new policy in (see
/// ``AccessControl/reload()``), so that removing `auth:` from the file, or
/// an editor's half-written save, cannot open a running proxy.
public enum ExposureCheck {
    /// A problem in words, or `nil` if the configuration is safe to serve.
    public static func problem(in configuration: ProxyConfiguration) -> String? {
        self.problem(access: configuration.access, listeners: configuration.listeners)
    }

    /// A problem in words if some of `listeners` is on a non-loopback
    /// address and `access` lets its clients in without credentials.
    public static func problem(access: AccessConfiguration, listeners: [ListenerConfiguration]) -> String? {
        let exposed = listeners.filter { !$0.address.isLoopback }
        guard !exposed.isEmpty, !self.authenticates(access) else { return nil }
        let addresses = exposed.map { $0.address.description }.joined(separator: ", ")
        return "\(addresses) would be reachable from other machines without authentication; "
            + "configure auth.keys_file, auth.htpasswd or auth.api_key (and no public path `/`), "
            + "or listen on a loopback address"
    }

    /// Whether requests must authenticate: some credential is configured,
    /// and `/` (every path) is not public.
    static func authenticates(_ access: AccessConfiguration) -> Bool {
        access.requiresAuthentication && !access.publicPaths.contains("/")
    }
}
