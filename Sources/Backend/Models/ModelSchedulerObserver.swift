/// Passes one model's scheduler events to ``BackendMetrics`` under the model's id.
struct ModelSchedulerObserver: SchedulerObserver {
    let metrics: BackendMetrics
    let model: String

    func record(_ event: SchedulerEvent) { metrics.record(event, model: model) }
}
