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
    }
}
