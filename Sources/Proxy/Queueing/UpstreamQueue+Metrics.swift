extension UpstreamQueue {
    /// The queue's metrics in Prometheus text format, appended to
    /// ``ProxyMetrics/render()``:
    /// - `lmgate_proxy_upstream_slots`, `lmgate_proxy_upstream_slots_in_use`;
    /// - `lmgate_proxy_queue_waiting{priority}`: the queue's depth now;
    /// - `lmgate_proxy_queue_admitted_total{waited}`: requests given a slot,
    ///   at once (`no`) or after waiting (`yes`);
    /// - `lmgate_proxy_queue_refused_total{reason}`: `client_share_full`
    ///   (429) or `queue_full` (503);
    /// - `lmgate_proxy_queue_timeouts_total` (503), `lmgate_proxy_queue_abandoned_total`
    ///   (the client left while waiting);
    /// - `lmgate_proxy_queue_wait_seconds_sum` and `_count`: the waits of
    ///   the requests admitted after waiting.
    ///
    /// No label comes from a client: per-client depths are not exported,
    /// as anonymous clients are counted by address.
    func renderMetrics() -> String {
        let snapshot = self.snapshot
        let counters = snapshot.counters
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(suffix: String, value: String)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { text += "\(name)\(sample.suffix) \(sample.value)\n" }
        }
        metric("lmgate_proxy_upstream_slots", "gauge", "Requests that may be in flight to the upstreams together.",
               [("", "\(snapshot.slots)")])
        metric("lmgate_proxy_upstream_slots_in_use", "gauge", "Requests in flight to the upstreams that hold a slot.",
               [("", "\(snapshot.slotsInUse)")])
        metric("lmgate_proxy_queue_waiting", "gauge", "Requests waiting for an upstream slot, by priority.",
               QueuePriority.allCases.map { ("{priority=\"\($0.rawValue)\"}", "\(snapshot.waitingByPriority[$0] ?? 0)") })
        metric("lmgate_proxy_queue_admitted_total", "counter", "Requests given an upstream slot, at once or after waiting.",
               [("{waited=\"no\"}", "\(counters.admittedAtOnce)"), ("{waited=\"yes\"}", "\(counters.admittedAfterWaiting)")])
        metric("lmgate_proxy_queue_refused_total", "counter", "Requests refused because the queue was full.",
               [("{reason=\"client_share_full\"}", "\(counters.refusedClientShareFull)"),
                ("{reason=\"queue_full\"}", "\(counters.refusedQueueFull)")])
        metric("lmgate_proxy_queue_timeouts_total", "counter", "Requests that waited longer than queue.timeout.",
               [("", "\(counters.timedOut)")])
        metric("lmgate_proxy_queue_abandoned_total", "counter", "Requests whose client left while they waited.",
               [("", "\(counters.abandoned)")])
        metric("lmgate_proxy_queue_wait_seconds", "summary", "Time requests admitted after waiting spent in the queue.",
               [("_sum", "\(counters.waitSeconds)"), ("_count", "\(counters.admittedAfterWaiting)")])
        return text
    }
}
