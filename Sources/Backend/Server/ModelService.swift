import Foundation

/// A loaded model ready to serve: the model, its tokenizer and chat
/// template, the scheduler that shares it, and what `/v1/models` says about it.
///
/// A generation model has ``model`` and ``scheduler``; an embedding model
/// (`bert`, or a decoder whose metadata names a pooling) has ``embedder``
/// instead, and its chat template goes unused.
public final class ModelService: Sendable {
    /// The name clients use in `model` (see ``ModelEntry/id``).
    public let id: String
    /// The generation model; `nil` for an embedding-only model.
    public let model: LanguageModel?
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    /// Shares ``model`` between requests; `nil` for an embedding-only model.
    public let scheduler: InferenceScheduler?
    /// Computes embeddings; `nil` for a model that only generates.
    public let embedder: EmbeddingEngine?
    /// The quantization as llama.cpp names it (`Q8_0`, `Q4_K_M`, `F16`, …).
    public let quantization: String
    /// When the model was loaded (seconds since 1970).
    public let created: Int

    /// The longest prompt plus completion a sequence can hold.
    public var contextLength: Int { model?.configuration.contextLength ?? embedder?.model.contextLength ?? 0 }

    /// Loads the GGUF file at `path` and starts its scheduler, which reports
    /// to `metrics` under `id` (by default the file name without `.gguf`).
    /// The weights are read in once (so the first request does not wait on
    /// page faults), with `progress` called with the fraction read.
    public convenience init(
        path: String, id: String? = nil, configuration: SchedulerConfiguration, metrics: BackendMetrics,
        progress: (Double) -> Void = { _ in }
    ) throws {
        let file = try GGUFFile(path: path)
        let id = id ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if let embeddingModel = try Self.embeddingModel(in: file) {
            WeightPageIn.pageIn(file, progress: progress)
            self.init(
                id: id, embedder: EmbeddingEngine(model: embeddingModel, threadCount: configuration.threads),
                tokenizer: try Tokenizer(TokenizerVocabulary(gguf: file)))
            return
        }
        let model = try LanguageModel(file: file)
        WeightPageIn.pageIn(file, progress: progress)
        let tokenizer = try Tokenizer(TokenizerVocabulary(gguf: file))
        self.init(
            id: id, model: model, tokenizer: tokenizer, template: try Self.chatTemplate(of: file), configuration: configuration,
            observer: metrics.observer(model: id))
    }

    public init(
        id: String, model: LanguageModel, tokenizer: Tokenizer, template: ChatTemplate, configuration: SchedulerConfiguration,
        observer: any SchedulerObserver
    ) {
        self.id = id
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        quantization = Self.quantization(of: model.file)
        created = Int(Date().timeIntervalSince1970)
        scheduler = InferenceScheduler(model: model, tokenizer: tokenizer, configuration: configuration, observer: observer)
        embedder = nil
    }

    /// An embedding-only model, served by `embedder`.
    public init(id: String, embedder: EmbeddingEngine, tokenizer: Tokenizer) {
        self.id = id
        model = nil
        scheduler = nil
        self.embedder = embedder
        self.tokenizer = tokenizer
        template = .chatML
        quantization = Self.quantization(of: embedder.model.file)
        created = Int(Date().timeIntervalSince1970)
    }

    /// Stops the model's scheduler or embedding engine.
    public func shutdown() {
        scheduler?.shutdown()
        embedder?.shutdown()
    }

    /// The embedding model `file` holds, or `nil` for a generation model: a
    /// `bert` encoder, or a decoder whose metadata names a pooling
    /// (Qwen3-Embedding), which is served as llama-server `--embeddings`
    /// serves it and, as there, not for generation.
    static func embeddingModel(in file: GGUFFile) throws(GGUFError) -> (any EmbeddingModel)? {
        let architecture = try file.metadata.requiredString("general.architecture")
        if architecture == BertConfiguration.architecture { return try BertModel(file: file) }
        guard let pooling = try EmbeddingPooling.declared(in: file.metadata, architecture: architecture) else { return nil }
        return DecoderEmbeddingModel(model: try LanguageModel(file: file), pooling: pooling)
    }

    /// The scheduler of a generation model; a clear 400 for an embedding-only model.
    func generationScheduler() throws(APIError) -> InferenceScheduler {
        guard let scheduler else {
            throw .invalid(
                "the model '\(id)' is an embedding model: it does not generate text; use POST /v1/embeddings", parameter: "model",
                code: "model_not_supported")
        }
        return scheduler
    }

    /// The model's own chat template (`tokenizer.chat_template`), or ChatML
    /// for a model without one, as llama.cpp falls back.
    static func chatTemplate(of file: GGUFFile) throws -> ChatTemplate {
        guard let source = try file.metadata.string("tokenizer.chat_template") else { return .chatML }
        return try ChatTemplate(jinja: source)
    }

    /// The prompt's tokens: raw text is tokenized with control tokens
    /// honoured, token ids are checked, a conversation is rendered with the
    /// chat template first.
    ///
    /// In a conversation only the template's markup yields control tokens:
    /// the messages' text is marked before rendering and tokenized as text
    /// (see ``RequestTextMarking``), so a message cannot forge a turn. A raw
    /// `/v1/completions` prompt keeps control tokens parsed, as llama.cpp's
    /// server does: its client writes the whole prompt, markup included,
    /// and has no turn of anyone else's to forge.
    func tokens(for prompt: GenerationRequest.Prompt) throws(APIError) -> [Int] {
        // An embedding model is refused before anything is tokenized for it.
        _ = try generationScheduler()
        switch prompt {
        case .text(let text):
            return tokenizer.encode(text, addSpecialTokens: true, parseSpecialTokens: true)
        case .tokens(let ids):
            if let bad = ids.first(where: { $0 >= tokenizer.vocabularySize }) {
                throw .invalid("token id \(bad) is outside the vocabulary of \(tokenizer.vocabularySize) tokens", parameter: "prompt")
            }
            return ids
        case .chat(let messages):
            return try Self.tokens(ofChat: messages, template: template, tokenizer: tokenizer)
        }
    }

    /// The tokens of a conversation rendered with `template`, the messages'
    /// text marked so that it stays text (see ``RequestTextMarking``), and
    /// then `prefill`, the server's own text after the generation prompt
    /// (a forced call's opening markup; control tokens in it are honoured).
    static func tokens(
        ofChat messages: [ChatMessage], tools: [ToolDefinition] = [], template: ChatTemplate, tokenizer: Tokenizer,
        prefill: String = ""
    ) throws(APIError) -> [Int] {
        let vocabulary = tokenizer.vocabulary
        let names = ChatTemplateTokens(
            beginningOfSequence: vocabulary.bosTokenID.map { vocabulary.tokens[$0] } ?? "",
            endOfSequence: vocabulary.eosTokenID.map { vocabulary.tokens[$0] } ?? "")
        // Roles are checked against a fixed list already; they are marked all the same, as all request text.
        let marked = messages.map { $0.marked(by: tokenizer.markingControlTokenText) }
        let markedTools = tools.map { $0.marked(by: tokenizer.markingControlTokenText) }
        let text: String
        do {
            text = try template.renderAsLlamaServer(marked, tools: markedTools, tokens: names, tokenizerAddsBOS: vocabulary.addBOS)
        } catch {
            throw .invalid(
                "the chat template could not render these messages: \(RequestTextMarking.withoutMarkers(error.description))",
                parameter: "messages")
        }
        var tokens = tokenizer.encode(renderedTemplate: text + prefill, addSpecialTokens: true)
        // A template that writes BOS itself would otherwise get a second one.
        if tokens.count >= 2, let bos = vocabulary.bosTokenID, tokens[0] == bos, tokens[1] == bos {
            tokens.removeFirst()
        }
        return tokens
    }

    /// llama.cpp's name for `general.file_type`, or else the most common
    /// type among the weight matrices.
    static func quantization(of file: GGUFFile) -> String {
        let names: [Int: String] = [
            0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M",
            13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 21: "Q2_K_S", 25: "IQ4_NL",
            30: "IQ4_XS", 32: "BF16",
        ]
        if let fileType = try? file.metadata.integer("general.file_type"), let name = names[fileType] { return name }
        var counts: [String: Int] = [:]
        for tensor in file.tensors.values where tensor.dimensions.count == 2 { counts[tensor.type.name, default: 0] += 1 }
        return counts.max { $0.value < $1.value }?.key ?? "unknown"
    }
}
