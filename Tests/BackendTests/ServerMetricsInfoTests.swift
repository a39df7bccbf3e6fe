import Testing

@testable import Backend

@Suite("Server: backend info metric")
struct ServerMetricsInfoTests {
    @Test("the platform is exposed as lmgate_backend_info with escaped label values")
    func infoMetric() {
        let platform = EnginePlatform(cpuModel: "Intel(R) \"Xeon\" \\ 2", blasCore: "SkylakeX", blasCoreReason: .setByLmgate)
        let text = BackendMetrics(platform: platform).render()
        let line = text.split(separator: "\n").first { $0.hasPrefix("lmgate_backend_info{") }
        #expect(
            line == #"lmgate_backend_info{blas_core="SkylakeX",blas_core_reason="set by lmgate for this CPU",cpu="Intel(R) \"Xeon\" \\ 2"} 1"#)
    }

    @Test("without a platform there is no info metric")
    func noPlatform() {
        #expect(!BackendMetrics().render().contains("lmgate_backend_info"))
    }
}
