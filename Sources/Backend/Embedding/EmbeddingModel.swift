/// A model that turns token sequences into unit-length vectors, served by an
/// ``EmbeddingEngine``: a ``BertModel`` encoder, or a decoder GGUF whose
/// metadata names a pooling (``DecoderEmbeddingModel``).
public protocol EmbeddingModel: Sendable {
    /// The length of every vector the model gives.
    var embeddingLength: Int { get }
    /// The longest input, in tokens.
    var contextLength: Int { get }
    /// The number of tokens in the vocabulary.
    var vocabularySize: Int { get }
    /// The file the weights are mapped from.
    var file: GGUFFile { get }

    /// The unit-length embedding of each input, in order, all inputs
    /// computed as one batch.
    ///
    /// - Throws: ``InferenceError`` for what ``check(_:)`` refuses.
    func embed(_ inputs: [[Int32]], pool: ComputePool) throws(InferenceError) -> [[Float]]
}

extension EmbeddingModel {
    /// Throws what ``embed(_:pool:)`` would throw for `inputs`: an empty
    /// input, a token outside the vocabulary, an input longer than the context.
    public func check(_ inputs: [[Int32]]) throws(InferenceError) {
        for input in inputs {
            guard !input.isEmpty else { throw InferenceError(.emptyInput, "an input has no tokens") }
            guard input.count <= contextLength else {
                throw InferenceError(.contextFull, "an input of \(input.count) tokens exceeds the context of \(contextLength)")
            }
            if let bad = input.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
                throw InferenceError(.invalidToken, "token id \(bad) is outside the vocabulary of \(vocabularySize)")
            }
        }
    }

    /// The rows each input takes when `inputs` are laid end to end as one batch.
    static func spans(of inputs: [[Int32]]) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        var start = 0
        for input in inputs {
            spans.append(start..<start + input.count)
            start += input.count
        }
        return spans
    }
}
