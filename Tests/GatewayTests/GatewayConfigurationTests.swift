import Foundation
import Gateway
import Proxy
import Testing

/// The files `lmgate serve` makes on first run, the `backend:` section and
/// the rule against unauthenticated exposure.
@Suite struct GatewayConfigurationTests {
    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-gateway-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func permissions(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func firstRunMakesAPrivateTLSConfigurationThatRequiresAuthentication() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = GatewayHome(directory: root + "/home")

        let outcome = try FirstRun.prepare(home, listen: ["0.0.0.0:8443"], backendPort: 1234)
        #expect(outcome.wroteConfiguration)
        let key = try #require(outcome.mainKey)
        #expect(key.hasPrefix(APIKey.keyPrefix))
        #expect(outcome.certificate?.sha256Fingerprint == SelfSignedCertificate.sha256Fingerprint(ofPEMFile: home.certificateFile))

        // Only the owner can read the directory, the key, the keys and the configuration.
        #expect(try permissions(home.directory) == 0o700)
        for file in [home.privateKeyFile, home.keysFile, home.configurationFile, home.htpasswdFile] {
            #expect(try permissions(file) == 0o600, "\(file)")
        }
        // The key is stored only as a hash.
        let keys = try String(contentsOfFile: home.keysFile, encoding: .utf8)
        #expect(!keys.contains(key))
        #expect(try APIKeyFile(contentsOfFile: home.keysFile).keys.map(\.name) == ["main"])

        // The configuration loads, listens with TLS, names the files, and may be exposed.
        let configuration = try ProxyConfigurationLoader.load(
            file: home.configurationFile, ignoringSections: ["backend"], environment: [:], overrides: [])
        #expect(configuration.listeners.map(\.isTLS) == [true])
        #expect(configuration.access.keysPath == home.keysFile)
        #expect(configuration.access.htpasswdPath == home.htpasswdFile)
        #expect(configuration.upstreams.count == 1)
        #expect(ExposureCheck.problem(in: configuration) == nil)
        #expect(try BackendSettings(file: home.configurationFile).port == 1234)

        // A second start changes nothing and shows no key.
        let again = try FirstRun.prepare(home, listen: ["0.0.0.0:8443"], backendPort: 1234)
        #expect(!again.wroteConfiguration && again.mainKey == nil && again.certificate == nil)
        #expect(try String(contentsOfFile: home.keysFile, encoding: .utf8) == keys)
    }

    @Test func unauthenticatedListenersReachableFromOtherMachinesAreRefused() throws {
        let exposed = try ProxyConfigurationLoader.load(
            yaml: "listen: [\"http://0.0.0.0:8080\"]\nallow_plain_non_loopback: true\nupstreams: [\"http://127.0.0.1:1234\"]")
        let problem = try #require(ExposureCheck.problem(in: exposed))
        #expect(problem.contains("0.0.0.0:8080") && problem.contains("without authentication"))

        let loopback = try ProxyConfigurationLoader.load(
            yaml: "listen: [\"http://127.0.0.1:8080\"]\nupstreams: [\"http://127.0.0.1:1234\"]")
        #expect(ExposureCheck.problem(in: loopback) == nil)

        let withKey = try ProxyConfigurationLoader.load(
            yaml: "listen: [\"http://0.0.0.0:8080\"]\nallow_plain_non_loopback: true\nupstreams: [\"http://127.0.0.1:1234\"]",
            ignoringSections: [])
        var authenticated = withKey
        authenticated.access.apiKey = "made-at-test-time-\(UUID().uuidString)"
        #expect(ExposureCheck.problem(in: authenticated) == nil)
    }

    @Test func backendSectionIsReadAndCheckedFromTheShippedExample() throws {
        let example = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("conf/lmgate.yaml").path
        let settings = try BackendSettings(file: example)
        #expect(settings.port == 1234)
        #expect(settings.model?.hasSuffix(".gguf") == true)
        #expect(settings.backendArguments.starts(with: ["backend", "--host", "127.0.0.1", "--port", "1234"]))

        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (yaml, expected) in [
            ("backend:\n  port: 99999\n", "backend.port"),
            ("backend:\n  colour: blue\n", "unknown setting 'backend.colour'"),
            ("backend:\n  threads: none\n", "backend.threads"),
        ] {
            let file = root + "/bad.yaml"
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            #expect {
                try BackendSettings(file: file)
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
