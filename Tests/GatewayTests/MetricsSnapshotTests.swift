import Testing

@testable import Gateway

@Suite("Metrics snapshot")
struct MetricsSnapshotTests {
    @Test("label values with spaces, commas, braces and escapes are read whole; values are summed over labels")
    func labelsAndTotals() {
        let text = #"""
            # HELP lmgate_backend_info The CPU.
            # TYPE lmgate_backend_info gauge
            lmgate_backend_info{blas_core="SkylakeX",blas_core_reason="set by lmgate for this CPU",cpu="Intel(R) \"Xeon\" {2}, \\ x"} 1
            lmgate_backend_requests_total{endpoint="/v1/models",status="200"} 3
            lmgate_backend_requests_total{endpoint="/health",status="200"} 4
            lmgate_backend_queue_depth 2
            """#
        let snapshot = MetricsSnapshot(text: text)
        #expect(
            snapshot.labels(of: "lmgate_backend_info")
                == ["blas_core": "SkylakeX", "blas_core_reason": "set by lmgate for this CPU", "cpu": #"Intel(R) "Xeon" {2}, \ x"#])
        #expect(snapshot["lmgate_backend_info"] == 1)
        #expect(snapshot["lmgate_backend_requests_total"] == 7)
        #expect(snapshot["lmgate_backend_queue_depth"] == 2)
        #expect(snapshot.labels(of: "lmgate_backend_queue_depth") == [:])
        #expect(snapshot.labels(of: "absent") == nil)
    }

    @Test("a line with an unterminated label value is skipped")
    func malformed() {
        let snapshot = MetricsSnapshot(text: "broken{cpu=\"Intel 1\nfine 5\n")
        #expect(snapshot["broken"] == nil)
        #expect(snapshot["fine"] == 5)
    }
}
