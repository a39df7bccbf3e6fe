import PrometheusText

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
    func renderMetrics(into text: inout PrometheusExposition) {
        guard self.isEnabled else { return }
        let snapshot = self.snapshot
        let counters = snapshot.counters
        text.single("lmgate_proxy_upstream_slots", type: .gauge, help: "Requests that may be in flight to the upstreams together.",
                    value: snapshot.slots)
        text.single("lmgate_proxy_upstream_slots_in_use", type: .gauge, help: "Requests in flight to the upstreams that hold a slot.",
                    value: snapshot.slotsInUse)
        text.family("lmgate_proxy_queue_waiting", type: .gauge, help: "Requests waiting for an upstream slot, by priority.")
        for priority in QueuePriority.allCases {
            text.sample("lmgate_proxy_queue_waiting", labels: [("priority", priority.rawValue)], value: snapshot.waitingByPriority[priority] ?? 0)
        }
        text.family("lmgate_proxy_queue_admitted_total", type: .counter, help: "Requests given an upstream slot, at once or after waiting.")
        text.sample("lmgate_proxy_queue_admitted_total", labels: [("waited", "no")], value: counters.admittedAtOnce)
        text.sample("lmgate_proxy_queue_admitted_total", labels: [("waited", "yes")], value: counters.admittedAfterWaiting)
        text.family("lmgate_proxy_queue_refused_total", type: .counter, help: "Requests refused because the queue was full.")
        text.sample("lmgate_proxy_queue_refused_total", labels: [("reason", "client_share_full")], value: counters.refusedClientShareFull)
        text.sample("lmgate_proxy_queue_refused_total", labels: [("reason", "queue_full")], value: counters.refusedQueueFull)
        text.single("lmgate_proxy_queue_timeouts_total", type: .counter, help: "Requests that waited longer than queue.timeout.",
                    value: counters.timedOut)
        text.single("lmgate_proxy_queue_abandoned_total", type: .counter, help: "Requests whose client left while they waited.",
                    value: counters.abandoned)
        text.family("lmgate_proxy_queue_wait_seconds", type: .summary, help: "Time requests admitted after waiting spent in the queue.")
        text.sample("lmgate_proxy_queue_wait_seconds_sum", value: "\(counters.waitSeconds)")
        text.sample("lmgate_proxy_queue_wait_seconds_count", value: counters.admittedAfterWaiting)
    }
}
