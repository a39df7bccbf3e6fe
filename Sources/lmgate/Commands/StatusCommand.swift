import ArgumentParser
import Foundation
import Gateway
import HtpasswdKit
import Proxy

/// `lmgate status`: what a running `lmgate serve` serves and has served —
/// the model, request and token counts, the keys and when each was last
/// used, the users — read from its configuration and its loopback endpoints.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the model, request counts, keys and users of lmgate serve.")

    @Option(help: "The configuration file (default: $LMGATE_HOME/lmgate.yaml).")
    var config: String?

    func run() async throws {
        let file = self.config ?? GatewayHome.standard(environment: ProcessInfo.processInfo.environment).configurationFile
        let proxy: ProxyConfiguration
        let backend: BackendSettings
        do {
            proxy = try ProxyConfigurationLoader.load(
                file: file, ignoringSections: BackendSettings.sections, environment: ProcessInfo.processInfo.environment, overrides: [])
            backend = try BackendSettings(file: file)
        } catch {
            throw ValidationError("invalid configuration \(file):\n\(error.description)")
        }
        print("configuration: \(file)")
        for listener in proxy.listeners {
            print("listening on \(listener.isTLS ? "https" : "http")://\(listener.address)")
        }

        let base = "http://127.0.0.1:\(backend.port)"
        // The backend under `serve` wants the key of its current start, which serve keeps in its home.
        let key = BackendKey.read(
            from: GatewayHome.standard(environment: ProcessInfo.processInfo.environment).backendKeyFile(port: backend.port))
        if let models = try? await BackendModelsClient(port: backend.port, key: key).list() {
            for model in models where model.loaded {
                let details = [model.architecture, model.quantization, model.contextLength.map(String.init), model.pinned ? "pinned" : nil]
                    .compactMap { $0 }
                print("backend \(base): serving \(model.id) (\(details.joined(separator: ", ")))")
            }
            if !models.contains(where: \.loaded) { print("backend \(base): no model loaded") }
            if models.count > 1 {
                print(ModelsTable.render(models).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
        } else if await LoopbackFetch.get(base + "/health") == nil {
            print("backend \(base): not answering (stopped, or loading its model)")
        }
        if let text = await LoopbackFetch.get(base + "/metrics", key: key).map({ String(decoding: $0, as: UTF8.self) }) {
            let metrics = MetricsSnapshot(text: text)
            func count(_ name: String) -> String { metrics["lmgate_backend_" + name].map { String(Int($0)) } ?? "-" }
            print("  requests \(count("requests_total")) (cancelled \(count("requests_cancelled_total"))), "
                + "prompt tokens \(count("prompt_tokens_total")) (from cache \(count("prompt_tokens_cached_total"))), "
                + "generated tokens \(count("generated_tokens_total"))")
            print("  now: \(count("active_sequences")) generating, \(count("queue_depth")) waiting; "
                + "model loads \(metrics["lmgate_backend_model_loads_total"].map { String(Int($0)) } ?? "-"), unloads \(count("model_unloads_total"))")
            if let info = metrics.labels(of: "lmgate_backend_info") {
                print("  engine: OpenBLAS core \(info["blas_core"] ?? "?") (\(info["blas_core_reason"] ?? "?")) on \(info["cpu"] ?? "?")")
            }
        }
        if let admin = proxy.adminAddress,
            let text = await LoopbackFetch.get("http://\(admin)\(proxy.metricsPath)").map({ String(decoding: $0, as: UTF8.self) })
        {
            let metrics = MetricsSnapshot(text: text)
            print("proxy: \(Int(metrics["lmgate_proxy_requests_total"] ?? 0)) requests, "
                + "\(Int(metrics["lmgate_proxy_open_connections"] ?? 0)) open connections, "
                + "\(Int(metrics["lmgate_proxy_rejected_connections_total"] ?? 0)) connections refused")
        } else {
            print("proxy: request counts need an admin listener (admin.listen in the configuration)")
        }

        if let keysPath = proxy.access.keysPath {
            let keys = (try? APIKeyFile(contentsOfFile: keysPath)) ?? APIKeyFile()
            print("\nkeys (\(keysPath)):")
            print(KeysTable.render(keys, keysPath: keysPath))
        }
        if let htpasswd = proxy.access.htpasswdPath {
            let users = (try? HtpasswdFile(contentsOfFile: htpasswd))?.users ?? []
            print("\nusers (\(htpasswd)): \(users.isEmpty ? "none" : users.joined(separator: ", "))")
        }
    }
}
