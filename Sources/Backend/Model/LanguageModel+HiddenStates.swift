extension LanguageModel {
    /// The final hidden states of independent inputs, `inputs` laid end to
    /// end (`total tokens × embeddingLength`): the rows of
    /// ``runBlocks(_:sequences:pool:)`` after the final RMSNorm, before the
    /// output projection — what a decoder embedding model pools, as
    /// llama.cpp's `llama_get_embeddings` gives them.
    ///
    /// Every input is its own sequence from position 0 with a cache of its
    /// own made for this call (attention stays causal, as llama.cpp runs a
    /// decoder's embeddings), and all of them go through the matrices as
    /// one batch.
    ///
    /// - Throws: ``InferenceError`` for no inputs, an empty input, a token
    ///   outside the vocabulary, or an input longer than the context.
    func hiddenStates(of inputs: [[Int32]], pool: ComputePool) throws(InferenceError) -> FloatBuffer {
        guard !inputs.isEmpty else { throw InferenceError(.emptyInput, "no inputs to run") }
        var sequences: [SequenceRows] = []
        var start = 0
        for input in inputs {
            guard !input.isEmpty else { throw InferenceError(.emptyInput, "an input has no tokens") }
            try checkTokens(input)
            guard input.count <= configuration.contextLength else {
                throw InferenceError(.contextFull, "an input of \(input.count) tokens exceeds the context of \(configuration.contextLength)")
            }
            sequences.append(SequenceRows(cache: KVCache(for: self, capacity: input.count), start: 0, rows: start..<start + input.count))
            start += input.count
        }
        let x = runBlocks(inputs.flatMap { $0 }, sequences: sequences, pool: pool)
        return finalNormalized(x, rows: 0..<start)
    }

    /// Rows `rows` of the final residual stream `x` after the model's final
    /// RMSNorm (`output_norm`), renumbered from 0.
    func finalNormalized(_ x: FloatBuffer, rows: some Collection<Int>) -> FloatBuffer {
        let c = configuration
        let d = c.embeddingLength
        let normed = FloatBuffer(count: rows.count * d)
        for (index, t) in rows.enumerated() {
            VectorOperations.rmsNorm(x.row(t, length: d), weight: outputNorm, epsilon: c.rmsEpsilon, into: normed.row(index, length: d))
        }
        return normed
    }
}
