import Foundation

extension ForwardingFuzzProbe {
    /// Traps if the proxy's reading of a body's `model` (``RequestBodyModel``)
    /// accepts a body that Foundation's JSON parser reads with another model
    /// (or with one where the proxy saw none): the upstream would then serve
    /// a model the policy did not check. Refusing more than Foundation does
    /// is allowed (the safe direction).
    public static func checkBodyModel(_ body: [UInt8]) {
        let reading = RequestBodyModel(body: body)
        if case .refused = reading { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return }
        switch reading {
        case .model(let model):
            precondition(object["model"] as? String == model, "model read as \(model), Foundation reads \(String(describing: object["model"]))")
        case .missing:
            precondition(object["model"] == nil, "no model read, Foundation reads \(String(describing: object["model"]))")
        case .refused:
            break
        }
        Self.checkStreamUsage(body, object: object)
    }

    /// Traps if the proxy would leave a body unchanged that Foundation reads
    /// as a stream without `stream_options.include_usage: true` (its tokens
    /// would go uncounted), or rewrite one Foundation reads as no stream.
    static func checkStreamUsage(_ body: [UInt8], object: [String: Any]) {
        // Foundation gives `1` as an NSNumber that also casts to Bool; a JSON
        // `true` is the one whose Objective-C type is `c` (char).
        let stream = object["stream"] as? NSNumber
        let isStream = stream.map { String(cString: $0.objCType) == "c" && $0.boolValue } ?? false
        let includesUsage = ((object["stream_options"] as? [String: Any])?["include_usage"] as? NSNumber)?.boolValue == true
        switch StreamUsageRequest(body: body) {
        case .unchanged:
            precondition(!isStream || includesUsage, "a stream without include_usage left unchanged")
        case .rewritten:
            precondition(isStream && object["stream_options"] == nil, "a body rewritten that Foundation reads as no stream")
        case .refused:
            break
        }
    }
}
