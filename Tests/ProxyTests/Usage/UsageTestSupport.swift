import Foundation
@testable import Proxy

/// A fresh directory for one test's database, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        self.path = FileManager.default.temporaryDirectory.appendingPathComponent("lmgate-usage-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { self.path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: self.path) }
}

/// Random finished requests over a few identities, models, statuses and
/// hours, for differential checks against sums computed here.
struct RandomUsage {
    var generator: SystemRandomNumberGenerator = SystemRandomNumberGenerator()
    let identities: [String?] = ["key:ci", "alice", "key:laptop", nil]
    let models: [String?] = ["qwen3-8b", "local-model", nil, "odd\nname"]
    let statuses = [200, 200, 200, 201, 400, 403, 429, 500, 502, 499]

    mutating func next(around now: Date) -> RequestUsage {
        let seconds = TimeInterval(Int.random(in: -5 * 3600...0, using: &self.generator))
        return RequestUsage(
            identity: self.identities.randomElement(using: &self.generator)!,
            model: self.models.randomElement(using: &self.generator)!,
            status: self.statuses.randomElement(using: &self.generator)!,
            promptTokens: Int.random(in: 0...500, using: &self.generator),
            completionTokens: Int.random(in: 0...500, using: &self.generator),
            finished: now.addingTimeInterval(seconds))
    }
}

/// The rows `usages` should add up to, computed without ``UsageBatch``.
func expectedRows(_ usages: [RequestUsage]) -> [UsageRow] {
    var sums: [String: UsageRow] = [:]
    for usage in usages {
        let hour = Int64(usage.finished.timeIntervalSince1970) / 3600 * 3600
        let identity = usage.identity ?? "-"
        let model = usage.model.map { LogField.escaped($0, limit: 128) } ?? "-"
        let key = "\(hour)|\(identity)|\(model)"
        var row = sums[key] ?? UsageRow(hour: hour, identity: identity, model: model)
        row.requests += 1
        row.promptTokens += Int64(usage.promptTokens)
        row.completionTokens += Int64(usage.completionTokens)
        if usage.status >= 400 && usage.status < 500 { row.clientErrors += 1 }
        if usage.status >= 500 { row.serverErrors += 1 }
        sums[key] = row
    }
    return sums.values.sorted { ($0.hour, $0.identity, $0.model) < ($1.hour, $1.identity, $1.model) }
}
