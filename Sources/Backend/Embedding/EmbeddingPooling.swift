/// How an embedding model turns the hidden states of an input's tokens into
/// one vector (GGUF `{architecture}.pooling_type`).
public enum EmbeddingPooling: String, Sendable, Equatable {
    /// The average over all tokens ([CLS] and [SEP] included, as llama.cpp does).
    case mean
    /// The first token's state ([CLS]).
    case cls

    /// The pooling for llama.cpp's `llama_pooling_type` number, or `nil` for
    /// one lmgate does not implement (none, last, rank).
    init?(llamaPoolingType: Int) {
        switch llamaPoolingType {
        case 1: self = .mean
        case 2: self = .cls
        default: return nil
        }
    }
}
