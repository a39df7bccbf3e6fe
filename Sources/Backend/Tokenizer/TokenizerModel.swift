/// The tokenization algorithm, from GGUF's `tokenizer.ggml.model`.
public enum TokenizerModel: String, Sendable, Hashable {
    /// SentencePiece (`llama`): score-driven merges of characters, `▁` for
    /// spaces, and `<0xNN>` tokens for bytes no piece covers.
    case sentencePiece = "llama"
    /// Byte-level BPE (`gpt2`): text split by a pre-tokenizer, each byte
    /// mapped to a printable character, then ranked merges.
    case bytePair = "gpt2"
    /// WordPiece (`bert`): BERT's basic pre-tokenization, then greedy
    /// longest-match tokens (see ``WordPieceEncoder``).
    case wordPiece = "bert"
}

/// How byte-level BPE splits text into words before merging, from GGUF's
/// `tokenizer.ggml.pre`.
///
/// Each kind implements one of the regular expressions the models' own
/// Hugging Face tokenizers use (see ``PreTokenizer``).
public enum PreTokenizerKind: Sendable, Hashable {
    /// Llama 3 (`llama-bpe`): case-insensitive contractions, letters with one
    /// leading non-letter, numbers in groups of up to three digits, newlines kept
    /// with the whitespace before them.
    case llama3
    /// Qwen 2 (`qwen2`): as Llama 3, but every digit is its own word.
    case qwen2
    /// Mistral's Tekken (`tekken`, Mistral Nemo and Ministral): as Qwen 2,
    /// but letter runs break where the case changes (`HelloWorld` is two
    /// words), no contraction rule, and `/` joins a symbol run's line breaks.
    case tekken
    /// GPT-2 (`gpt-2`): contractions, an optional space before letters,
    /// numbers or other symbols.
    case gpt2
    /// SmolLM (`smollm`): every number character a word of its own, then
    /// the GPT-2 rules over the text between.
    case smollm
    /// llama.cpp's fallback (`default` or absent): punctuation runs, then the
    /// GPT-2 rules, then digits apart from other characters and in groups of three.
    case `default`

    /// The kind for a `tokenizer.ggml.pre` value, or `nil` if lmgate does not
    /// implement it (then tokens would differ from the model's own tokenizer).
    public init?(ggufName: String?) {
        switch ggufName {
        case nil, "default": self = .default
        // llama.cpp runs `pixtral` with llama3's rules too.
        case "llama3", "llama-v3", "llama-bpe", "pixtral": self = .llama3
        case "qwen2": self = .qwen2
        case "gpt-2": self = .gpt2
        case "smollm": self = .smollm
        case "tekken": self = .tekken
        default: return nil
        }
    }
}
