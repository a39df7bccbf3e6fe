import Foundation
import Testing
@testable import Proxy

/// ``ProxyConfigurationLoader``: the file, the environment and flags, in that
/// order of precedence, and clear errors for configurations that cannot run.
@Suite struct ConfigurationTests {
    @Test func commonCaseNeedsNoFile() throws {
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let configuration = try ProxyConfigurationLoader.load(
            file: nil, environment: [:],
            overrides: [
                .init(key: "listen", values: ["127.0.0.1:8443"]),
                .init(key: "tls.certificate", value: certificate.certificatePath),
                .init(key: "tls.key", value: certificate.keyPath),
                .init(key: "upstreams", values: ["http://127.0.0.1:1234", "http://[::1]:1235/"]),
            ])
        #expect(configuration.listeners == [
            ListenerConfiguration(
                address: HostAndPort(host: "127.0.0.1", port: 8443),
                security: .tls(certificatePath: certificate.certificatePath, keyPath: certificate.keyPath))
        ])
        #expect(configuration.upstreams.map(\.description) == ["http://127.0.0.1:1234", "http://[::1]:1235"])
    }

    @Test func yamlFileIsOverriddenByEnvironmentThenFlags() throws {
        let yaml = """
            listen: ["127.0.0.1:8080", "http://127.0.0.2:8081"]
            upstreams:
              - http://127.0.0.1:1234
            limits:
              max_body_bytes: 10m
              max_connections: 100
            timeouts:
              upstream_read: 2m
              request_head: 500ms
            admin:
              listen: 127.0.0.1:9090
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-\(UUID()).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let fromFile = try ProxyConfigurationLoader.load(file: file.path, environment: [:], overrides: [])
        #expect(fromFile.listeners.map(\.address.description) == ["127.0.0.1:8080", "127.0.0.2:8081"])
        #expect(fromFile.listeners.allSatisfy { !$0.isTLS })
        #expect(fromFile.limits.maxBodyBytes == 10 << 20)
        #expect(fromFile.limits.maxConnections == 100)
        #expect(fromFile.timeouts.upstreamRead == .seconds(120))
        #expect(fromFile.timeouts.requestHead == .milliseconds(500))
        #expect(fromFile.adminAddress == HostAndPort(host: "127.0.0.1", port: 9090))

        let layered = try ProxyConfigurationLoader.load(
            file: file.path,
            environment: ["LMGATE_PROXY_LIMITS_MAX_CONNECTIONS": "200", "LMGATE_PROXY_UPSTREAMS": "http://127.0.0.1:1,http://127.0.0.1:2"],
            overrides: [.init(assignment: "limits.max_connections=300")!])
        #expect(layered.limits.maxConnections == 300)
        #expect(layered.upstreams.map(\.endpoint.port) == [1, 2])
        #expect(layered.limits.maxBodyBytes == 10 << 20)
    }

    @Test func everySettingHasAnEnvironmentName() {
        let names = ConfigurationSetting.all.map(\.environmentName)
        #expect(names.contains("LMGATE_PROXY_TIMEOUTS_UPSTREAM_CONNECT"))
        #expect(Set(names).count == names.count)
    }

    @Test func plainHTTPOnANonLoopbackAddressNeedsExplicitPermission() throws {
        let overrides: [ConfigurationOverride] = [
            .init(key: "listen", values: ["0.0.0.0:8080"]), .init(key: "upstreams", values: ["http://127.0.0.1:1"]),
        ]
        let error = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(file: nil, environment: [:], overrides: overrides)
        }
        #expect(error?.message.contains("plain HTTP on a non-loopback address") == true)
        let allowed = try ProxyConfigurationLoader.load(
            file: nil, environment: ["LMGATE_PROXY_ALLOW_PLAIN_NON_LOOPBACK": "yes"], overrides: overrides)
        #expect(allowed.listeners.first?.security == .plain)
    }

    @Test func problemsAreAllReportedWithTheirSource() {
        let error = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(
                file: nil, environment: [:],
                overrides: [
                    .init(key: "listen", values: ["localhost", "https://127.0.0.1:8443"]),
                    .init(key: "upstreams", values: ["https://127.0.0.1:1", "http://127.0.0.1:1/v1"]),
                    .init(key: "tls.key", value: "/nonexistent/key.pem"),
                ])
        }
        let message = error?.message ?? ""
        #expect(message.contains("tls.key is set but tls.certificate is not"))
        #expect(message.contains("'localhost' is not an address"))
        #expect(message.contains("asks for TLS but tls.certificate and tls.key are not set"))
        #expect(message.contains("expected an http:// URL"))
        #expect(message.contains("no path"))
        #expect(message.contains("/nonexistent/key.pem does not exist"))
    }

    @Test func badValuesNameTheSettingAndWhereItCameFrom() {
        let error = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(
                file: nil, environment: ["LMGATE_PROXY_TIMEOUTS_CLIENT_BODY": "soon"], overrides: [])
        }
        #expect(error?.message == "timeouts.client_body (from LMGATE_PROXY_TIMEOUTS_CLIENT_BODY): expected a duration such as 60s")
        let unknown = #expect(throws: ConfigurationError.self) {
            try ProxyConfigurationLoader.load(yaml: "limits:\n  max_bodies: 1\n")
        }
        #expect(unknown?.message == "unknown setting 'limits.max_bodies' (from YAML)")
    }

    @Test func valueParsersAcceptWhatPeopleWrite() {
        #expect(SettingValueParsing.byteCount("64k") == 65536)
        #expect(SettingValueParsing.byteCount("10MiB") == 10 << 20)
        #expect(SettingValueParsing.byteCount("-1") == nil)
        #expect(SettingValueParsing.duration("1.5s") == .milliseconds(1500))
        #expect(SettingValueParsing.duration("2h") == .seconds(7200))
        #expect(SettingValueParsing.duration("") == nil)
        #expect(HostAndPort(parsing: "[::1]:80") == HostAndPort(host: "::1", port: 80))
        #expect(HostAndPort(parsing: "::1:80") == nil)
        #expect(HostAndPort(parsing: "127.0.0.1:70000") == nil)
        #expect(HostAndPort(host: "127.9.0.1", port: 1).isLoopback)
        #expect(!HostAndPort(host: "10.0.0.1", port: 1).isLoopback)
    }

    @Test func documentedExampleLoads() throws {
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let configuration = try ProxyConfigurationLoader.load(yaml: """
            listen: ["0.0.0.0:8443", "http://127.0.0.1:8080"]  # https:// or http:// forces TLS or plain
            tls: { certificate: \(certificate.certificatePath), key: \(certificate.keyPath) }
            upstreams: ["http://127.0.0.1:1234", "http://192.168.1.20:1234"]
            admin: { listen: "127.0.0.1:9090", metrics_path: /metrics }
            limits: { max_header_bytes: 32k, max_body_bytes: 64m, max_connections: 4096 }
            timeouts: { request_head: 30s, client_body: 60s, upstream_connect: 5s, upstream_read: 300s }
            health: { probe_interval: 1s, max_probe_interval: 30s }
            access_log: true
            """)
        #expect(configuration.listeners.map(\.isTLS) == [true, false])
        #expect(configuration.upstreams.count == 2)
        #expect(configuration.limits.maxHeaderBytes == 32 * 1024)
        #expect(configuration.health.maxProbeInterval == .seconds(30))
    }

    /// `auth.lockout_ipv6_prefix` beside the `auth.lockout` group: read, defaulted to 64, bounded.
    @Test func lockoutIPv6PrefixIsReadAndChecked() throws {
        let base = "listen: [\"http://127.0.0.1:8080\"]\nupstreams: [\"http://127.0.0.1:1234\"]\n"
        #expect(try ProxyConfigurationLoader.load(yaml: base).access.lockoutIPv6PrefixLength == 64)
        let configured = try ProxyConfigurationLoader.load(
            yaml: base + "auth:\n  lockout: { max_failures: 5 }\n  lockout_ipv6_prefix: 56\n")
        #expect(configured.access.lockoutIPv6PrefixLength == 56 && configured.access.lockoutMaxFailures == 5)
        for bad in ["8", "129", "-1", "wide"] {
            let error = #expect(throws: ConfigurationError.self) {
                try ProxyConfigurationLoader.load(yaml: base + "auth: { lockout_ipv6_prefix: \(bad) }\n")
            }
            #expect(error?.message.contains("auth.lockout_ipv6_prefix") == true, "\(bad)")
        }
    }

    /// `conf/lmgate.yaml` names every proxy setting and loads as shipped,
    /// with only its example certificate paths pointed at a real pair.
    @Test func shippedExampleCoversEverySettingAndLoads() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("conf/lmgate.yaml")
        let text = try String(contentsOf: path, encoding: .utf8)
        for setting in ConfigurationSetting.all {
            let leaf = setting.key.split(separator: ".").last.map(String.init) ?? setting.key
            #expect(text.contains("\(leaf):"), "conf/lmgate.yaml does not mention \(setting.key)")
        }
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let configuration = try ProxyConfigurationLoader.load(
            yaml: text
                .replacingOccurrences(of: "/etc/lmgate/cert.pem", with: certificate.certificatePath)
                .replacingOccurrences(of: "/etc/lmgate/key.pem", with: certificate.keyPath),
            ignoringSections: ["backend"])
        #expect(configuration.listeners.map(\.isTLS) == [true])
        #expect(configuration.upstreams.count == 1)
        #expect(configuration.limits.maxBodyBytes == 64 * 1024 * 1024)
        #expect(configuration.timeouts.upstreamRead == .seconds(300))
    }
}
