/// A mixture-of-experts feed-forward block (Qwen3-MoE): a router
/// (`ffn_gate_inp`) scores the experts for each token, and the chosen
/// experts' SwiGLU networks (`ffn_gate_exps`, `ffn_up_exps`,
/// `ffn_down_exps`) run on it, their outputs summed by the routing weights.
///
/// Only the chosen experts' rows are read: decoding one token reads
/// `usedCount` experts of `count`, which is what makes a 30B-class MoE
/// model run at the speed of a 3B one.
struct MixtureOfExperts: Sendable {
    let configuration: ExpertConfiguration
    /// `count × embeddingLength`: one score per expert.
    let router: WeightMatrix
    let gate: ExpertWeights
    let up: ExpertWeights
    let down: ExpertWeights

    /// Loads the block's router and experts (`{prefix}ffn_*`), checking their shapes.
    init(prefix: String, configuration c: ExpertConfiguration, embeddingLength d: Int, loader: ModelTensorLoader) throws(GGUFError) {
        configuration = c
        router = try loader.matrix(prefix + "ffn_gate_inp.weight", rows: c.count, columns: d)
        gate = try ExpertWeights(prefix + "ffn_gate_exps.weight", count: c.count, rows: c.feedForwardLength, columns: d, loader: loader)
        up = try ExpertWeights(prefix + "ffn_up_exps.weight", count: c.count, rows: c.feedForwardLength, columns: d, loader: loader)
        down = try ExpertWeights(prefix + "ffn_down_exps.weight", count: c.count, rows: d, columns: c.feedForwardLength, loader: loader)
    }

    /// Writes the block's output for each of `tokens` rows of `input`
    /// (`tokens × d`, already normalized) to `output` (`tokens × d`);
    /// `eachTokenAlone` as in ``MatrixMultiply/matMul(_:x:tokens:y:pool:activations:eachTokenAlone:)``
    /// (rows that are separate sequences' decodes).
    func apply(
        _ input: UnsafePointer<Float>, tokens: Int, embeddingLength d: Int, output: UnsafeMutablePointer<Float>, pool: ComputePool,
        eachTokenAlone: Bool = false
    ) {
        let c = configuration
        let scores = FloatBuffer(count: tokens * c.count)
        MatrixMultiply.matMul(router, x: input, tokens: tokens, y: scores.pointer, pool: pool, eachTokenAlone: eachTokenAlone)
        let routings = (0..<tokens).map { ExpertRouting(scores: scores.row($0, length: c.count), configuration: c) }
        output.update(repeating: 0, count: tokens * d)
        if tokens == 1 {
            applyToOne(input, routing: routings[0], embeddingLength: d, output: output, pool: pool)
            return
        }
        // Each expert runs once on all the rows routed to it.
        var rowsOfExpert = [[(row: Int, weight: Float)]](repeating: [], count: c.count)
        for (row, routing) in routings.enumerated() {
            for (expert, weight) in zip(routing.experts, routing.weights) {
                rowsOfExpert[expert].append((row, weight))
            }
        }
        let width = c.feedForwardLength
        let gathered = FloatBuffer(count: tokens * d)
        let gateOut = FloatBuffer(count: tokens * width)
        let upOut = FloatBuffer(count: tokens * width)
        let downOut = FloatBuffer(count: tokens * d)
        for (expert, rows) in rowsOfExpert.enumerated() where !rows.isEmpty {
            for (index, entry) in rows.enumerated() {
                gathered.row(index, length: d).update(from: input + entry.row * d, count: d)
            }
            let m = rows.count
            MatrixMultiply.matMul(gate[expert], x: gathered.pointer, tokens: m, y: gateOut.pointer, pool: pool, eachTokenAlone: eachTokenAlone)
            MatrixMultiply.matMul(up[expert], x: gathered.pointer, tokens: m, y: upOut.pointer, pool: pool, eachTokenAlone: eachTokenAlone)
            VectorOperations.swiGLU(gate: gateOut.pointer, up: upOut.pointer, count: m * width)
            MatrixMultiply.matMul(down[expert], x: gateOut.pointer, tokens: m, y: downOut.pointer, pool: pool, eachTokenAlone: eachTokenAlone)
            for (index, entry) in rows.enumerated() {
                VectorOperations.add(downOut.row(index, length: d), scaledBy: entry.weight, to: output + entry.row * d, count: d)
            }
        }
    }

    /// One token (decode): the chosen experts' gate and up projections in
    /// one parallel job, then their down projections in another; the
    /// outputs are summed by the routing weights in the experts' order.
    private func applyToOne(_ input: UnsafePointer<Float>, routing: ExpertRouting, embeddingLength d: Int, output: UnsafeMutablePointer<Float>, pool: ComputePool) {
        let width = configuration.feedForwardLength
        let used = routing.experts.count
        let gateOut = FloatBuffer(count: used * width)
        let upOut = FloatBuffer(count: used * width)
        let downOut = FloatBuffer(count: used * d)
        var products: [(matrix: WeightMatrix, y: UnsafeMutablePointer<Float>)] = []
        for (slot, expert) in routing.experts.enumerated() {
            products.append((gate[expert], gateOut.row(slot, length: width)))
            products.append((up[expert], upOut.row(slot, length: width)))
        }
        MatrixMultiply.matVecs(products, x: input, pool: pool)
        VectorOperations.swiGLU(gate: gateOut.pointer, up: upOut.pointer, count: used * width)
        let downProducts = routing.experts.enumerated().map { slot, expert in
            (matrix: down[expert], x: UnsafePointer(gateOut.row(slot, length: width)), y: downOut.row(slot, length: d))
        }
        MatrixMultiply.matVecs(downProducts, pool: pool)
        for slot in 0..<used {
            VectorOperations.add(downOut.row(slot, length: d), scaledBy: routing.weights[slot], to: output, count: d)
        }
    }
}
