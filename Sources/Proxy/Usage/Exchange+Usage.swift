import Foundation

extension Exchange {
    /// What this exchange used, now that it ends with `status`: its identity,
    /// and the model and tokens its response reported (none if it was not
    /// metered, or reported no usage).
    func usage(status: Int, finished: Date = Date()) -> RequestUsage {
        RequestUsage(
            identity: self.identity, model: self.usageMeter?.model, status: status,
            promptTokens: self.usageMeter?.promptTokens ?? 0, completionTokens: self.usageMeter?.completionTokens ?? 0,
            finished: finished)
    }
}
