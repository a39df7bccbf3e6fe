import Proxy

/// The rule `lmgate serve` keeps whatever its configuration says: a listener
/// on a non-loopback address never runs without authentication.
public enum ExposureCheck {
    /// A problem in words, or `nil` if the configuration is safe to serve.
    public static func problem(in configuration: ProxyConfiguration) -> String? {
        let exposed = configuration.listeners.filter { !$0.address.isLoopback }
        guard !exposed.isEmpty else { return nil }
        let access = configuration.access
        let authenticates = access.htpasswdPath != nil || access.keysPath != nil || access.apiKey != nil
        guard !authenticates else { return nil }
        let addresses = exposed.map { $0.address.description }.joined(separator: ", ")
        return "\(addresses) would be reachable from other machines without authentication; "
            + "configure auth.keys_file, auth.htpasswd or auth.api_key, or listen on a loopback address"
    }
}
