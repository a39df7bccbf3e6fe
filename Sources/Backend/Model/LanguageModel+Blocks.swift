extension LanguageModel {
    /// Runs the rows of a batch, `tokens[r]` in row `r`, through the
    /// embedding and every transformer block, appends each row's keys and
    /// values to its sequence's cache, and returns the final residual
    /// stream (`tokens.count × embeddingLength`).
    ///
    /// Every matrix is multiplied with all rows together, so the weights are
    /// read once per batch however many sequences it holds; only attention
    /// and RoPE are per sequence. The caller has checked the tokens and that
    /// every cache has room.
    func runBlocks(_ tokens: [Int32], sequences: [SequenceRows], pool: ComputePool) -> FloatBuffer {
        let c = configuration
        let n = tokens.count
        let d = c.embeddingLength

        let x = FloatBuffer(count: n * d)
        let normed = FloatBuffer(count: n * d)
        let q = FloatBuffer(count: n * c.queryDimension)
        let k = FloatBuffer(count: n * c.kvDimension)
        let v = FloatBuffer(count: n * c.kvDimension)
        let attention = FloatBuffer(count: n * c.queryDimension)
        let residual = FloatBuffer(count: n * d)
        // A mixture of experts keeps its own buffers.
        let denseWidth = c.experts == nil ? c.feedForwardLength : 0
        let gate = FloatBuffer(count: n * denseWidth)
        let up = FloatBuffer(count: n * denseWidth)

        for (t, token) in tokens.enumerated() {
            tokenEmbedding.dequantizeRow(Int(token), into: x.row(t, length: d))
        }
        if c.family.scalesEmbedding {
            let scale = Float(d).squareRoot()
            for index in 0..<n * d { x.pointer[index] *= scale }
        }
        // Each row's position in its own sequence.
        var positions = [Int](repeating: 0, count: n)
        for sequence in sequences {
            for row in sequence.rows { positions[row] = sequence.start + row - sequence.rows.lowerBound }
        }
        // A step of separate sequences' one-token decodes: each row's products as its
        // sequence decoding alone would compute them (integer-dot where the type has one),
        // so a sequence's output does not depend on how many decode beside it.
        let decodeRowsAlone = n > 1 && sequences.allSatisfy { $0.rows.count == 1 }
        let angles = positions.map { rope.angles(at: $0) }
        let slidingAngles = slidingRope.map { rope in positions.map { rope.angles(at: $0) } }

        for (index, layer) in layers.enumerated() {
            // Attention.
            // Element-wise steps over many rows run on the pool: on the
            // calling thread alone they left the other cores idle.
            pool.parallelFor(count: n) { rows in
                for t in rows {
                    VectorOperations.rmsNorm(x.row(t, length: d), weight: layer.attentionNorm, epsilon: c.rmsEpsilon, into: normed.row(t, length: d))
                }
            }
            if n == 1 {
                MatrixMultiply.matVecs([(layer.query, q.pointer), (layer.key, k.pointer), (layer.value, v.pointer)], x: normed.pointer, pool: pool)
            } else {
                MatrixMultiply.matMul(layer.query, x: normed.pointer, tokens: n, y: q.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
                MatrixMultiply.matMul(layer.key, x: normed.pointer, tokens: n, y: k.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
                MatrixMultiply.matMul(layer.value, x: normed.pointer, tokens: n, y: v.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
            }
            if let bias = layer.queryBias { VectorOperations.addBias(bias, to: q.pointer, rows: n) }
            if let bias = layer.keyBias { VectorOperations.addBias(bias, to: k.pointer, rows: n) }
            if let bias = layer.valueBias { VectorOperations.addBias(bias, to: v.pointer, rows: n) }
            if let norm = layer.queryNorm {
                VectorOperations.rmsNormHeads(q.pointer, heads: n * c.headCount, weight: norm, epsilon: c.rmsEpsilon)
            }
            if let norm = layer.keyNorm {
                VectorOperations.rmsNormHeads(k.pointer, heads: n * c.kvHeadCount, weight: norm, epsilon: c.rmsEpsilon)
            }
            let rotates = c.family.usesRoPE(layer: index)
            let slides = c.slidingWindow?.slides(layer: index) ?? false
            let (layerRope, layerAngles) = slides ? (slidingRope ?? rope, slidingAngles ?? angles) : (rope, angles)
            for sequence in sequences {
                for t in sequence.rows {
                    if rotates {
                        // Only queries take the temperature (Ministral 3); no
                        // architecture with layers without RoPE has one.
                        layerRope.rotate(q.row(t, length: c.queryDimension), heads: c.headCount, angles: layerAngles[t], scale: layerAngles[t].queryScale)
                        layerRope.rotate(k.row(t, length: c.kvDimension), heads: c.kvHeadCount, angles: layerAngles[t])
                    }
                    sequence.cache.key(layer: index, position: positions[t]).update(from: k.row(t, length: c.kvDimension), count: c.kvDimension)
                    sequence.cache.value(layer: index, position: positions[t]).update(from: v.row(t, length: c.kvDimension), count: c.kvDimension)
                }
            }
            CausalAttention.attend(
                queries: q.pointer, sequences: sequences, layer: index,
                configuration: c, output: attention.pointer, pool: pool)
            MatrixMultiply.matMul(layer.attentionOutput, x: attention.pointer, tokens: n, y: residual.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
            if let norm = layer.attentionOutputNorm {
                VectorOperations.rmsNormHeads(residual.pointer, heads: n, weight: norm, epsilon: c.rmsEpsilon)
            }
            VectorOperations.add(residual.pointer, to: x.pointer, count: n * d)

            // Feed-forward.
            pool.parallelFor(count: n) { rows in
                for t in rows {
                    VectorOperations.rmsNorm(x.row(t, length: d), weight: layer.feedForwardNorm, epsilon: c.rmsEpsilon, into: normed.row(t, length: d))
                }
            }
            switch layer.feedForward {
            case .dense(let gateWeights, let upWeights, let downWeights):
                if n == 1 {
                    MatrixMultiply.matVecPair(gateWeights, upWeights, x: normed.pointer, y: gate.pointer, pool: pool, combine: c.family.feedForwardActivation.combine)
                } else {
                    MatrixMultiply.matMul(gateWeights, x: normed.pointer, tokens: n, y: gate.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
                    MatrixMultiply.matMul(upWeights, x: normed.pointer, tokens: n, y: up.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
                    let width = c.feedForwardLength
                    pool.parallelFor(count: n) { rows in
                        VectorOperations.gated(
                            c.family.feedForwardActivation, gate: gate.pointer + rows.lowerBound * width,
                            up: up.pointer + rows.lowerBound * width, count: rows.count * width)
                    }
                }
                MatrixMultiply.matMul(downWeights, x: gate.pointer, tokens: n, y: residual.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
            case .experts(let experts):
                experts.apply(normed.pointer, tokens: n, embeddingLength: d, output: residual.pointer, pool: pool, eachTokenAlone: decodeRowsAlone)
            }
            if let norm = layer.feedForwardOutputNorm {
                VectorOperations.rmsNormHeads(residual.pointer, heads: n, weight: norm, epsilon: c.rmsEpsilon)
            }
            VectorOperations.add(residual.pointer, to: x.pointer, count: n * d)
        }
        for sequence in sequences {
            sequence.cache.advance(to: sequence.start + sequence.rows.count)
        }
        return x
    }

    /// The logits of `rows` of the final residual stream `x`: RMSNorm, then
    /// the output projection; `vocabularySize` floats per row, in the order
    /// of `rows`.
    func logits(of x: FloatBuffer, rows: [Int], pool: ComputePool) -> [Float] {
        let normed = finalNormalized(x, rows: rows)
        return [Float](unsafeUninitializedCapacity: rows.count * vocabularySize) { buffer, initialized in
            if let base = buffer.baseAddress {
                // Logits with activations rounded to 16 bits (Q8_0 on AVX2 and
                // AVX-512; else Float): they pick the next token directly, and a
                // small model's top two can be close. 8-bit activations here turned
                // the default model's greedy answer to "What is the capital of
                // France?" from "The capital of France is Paris." into llama.cpp's
                // "L'Étoile, la Marseillaise, …" (a 0.08-nat margin, flipped);
                // 16-bit ones move a logit 258 times less, at the 8-bit kernel's
                // speed where Float ran at half of it (docs/BENCHMARKS.md).
                MatrixMultiply.matMul(
                    output, x: normed.pointer, tokens: rows.count, y: base, pool: pool, activations: .roundedTo16Bits)
                if let cap = configuration.finalLogitSoftcap {
                    VectorOperations.softcap(base, count: rows.count * vocabularySize, cap: cap)
                }
            }
            initialized = rows.count * vocabularySize
        }
    }
}
