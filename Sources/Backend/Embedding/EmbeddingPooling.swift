/// How an embedding model turns the hidden states of an input's tokens into
/// one vector (GGUF `{architecture}.pooling_type`).
public enum EmbeddingPooling: String, Sendable, Equatable {
    /// The average over all tokens ([CLS] and [SEP], BOS and EOS included, as llama.cpp does).
    case mean
    /// The first token's state ([CLS]).
    case cls
    /// The last token's state: decoder models, whose last token is the only
    /// one that has attended to the whole input (Qwen3-Embedding).
    case last

    /// The pooling for llama.cpp's `llama_pooling_type` number, or `nil` for
    /// one lmgate does not implement (none, rank).
    init?(llamaPoolingType: Int) {
        switch llamaPoolingType {
        case 1: self = .mean
        case 2: self = .cls
        case 3: self = .last
        default: return nil
        }
    }

    /// The pooling `metadata` names in `{architecture}.pooling_type`, or
    /// `nil` when it names none.
    ///
    /// - Throws: ``GGUFError`` with ``GGUFError/Code/invalidModel`` for a
    ///   number lmgate does not pool by (0 none — one vector per token,
    ///   which OpenAI's API cannot return — 4 rank, or an unknown one).
    static func declared(in metadata: GGUFMetadata, architecture: String) throws(GGUFError) -> EmbeddingPooling? {
        let key = "\(architecture).pooling_type"
        guard let number = try metadata.integer(key) else { return nil }
        guard let pooling = EmbeddingPooling(llamaPoolingType: number) else {
            let known = [0: " (none)", 4: " (rank)"][number] ?? ""
            throw GGUFError(.invalidModel, "\(key) \(number)\(known) is not supported: lmgate pools by 1 mean, 2 CLS or 3 last token")
        }
        return pooling
    }

    /// The pooled, L2-normalized vector of the rows `span` of `states`
    /// (rows of `length` floats).
    func pooled(_ states: FloatBuffer, span: Range<Int>, length: Int) -> [Float] {
        var vector = [Float](repeating: 0, count: length)
        switch self {
        case .cls, .last:
            let row = states.row(self == .cls ? span.lowerBound : span.upperBound - 1, length: length)
            for index in 0..<length { vector[index] = row[index] }
        case .mean:
            for t in span {
                let row = states.row(t, length: length)
                for index in 0..<length { vector[index] += row[index] }
            }
            let scale = 1 / Float(span.count)
            for index in 0..<length { vector[index] *= scale }
        }
        var sumOfSquares: Float = 0
        for value in vector { sumOfSquares += value * value }
        // A zero vector stays zero, as llama.cpp's normalization leaves it.
        let norm = sumOfSquares.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }
}
