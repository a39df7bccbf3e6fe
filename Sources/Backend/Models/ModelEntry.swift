import Foundation

/// A GGUF file the backend can serve, as read from its header alone (the
/// weights are not touched): what `/v1/models` lists before it is loaded.
public struct ModelEntry: Sendable, Equatable {
    /// What clients name it by: the path relative to the models folder
    /// without `.gguf` (LM Studio's `publisher/model/file` layout gives
    /// `publisher/model/file`), or the file name without `.gguf` for `--model`.
    public let id: String
    /// The file.
    public let path: String
    /// The file's size in bytes.
    public let fileSize: Int
    /// `general.architecture`, when the header could be read.
    public let architecture: String?
    /// The quantization as llama.cpp names it, when the header could be read.
    public let quantization: String?
    /// The longest sequence the model holds, when the header could be read.
    public let contextLength: Int?
    /// Whether the model gives embeddings (`/v1/embeddings`) rather than
    /// text: a `bert` encoder, or a decoder whose metadata names a pooling.
    public let producesEmbeddings: Bool
    /// The bytes of one sequence's KV cache at full context.
    public let kvCacheBytes: Int
    /// Why the file cannot be served (not a GGUF file, truncated, an
    /// unsupported architecture), or `nil`: such a file is still listed, and a
    /// request for it gets this reason.
    public let problem: String?

    /// The memory the model is counted for against `max_memory`: the file
    /// (mapped, and paged in at load) plus one sequence's KV cache at full
    /// context. Caches of further parallel sequences grow on demand and are
    /// not counted: this bounds what a model takes at rest, not at peak.
    public var estimatedMemory: Int { fileSize + kvCacheBytes }

    /// The publisher of LM Studio's layout (the first folder), or `nil` for a file at the top.
    public var publisher: String? {
        let parts = id.split(separator: "/")
        return parts.count > 1 ? String(parts[0]) : nil
    }

    /// Reads the header of the GGUF file at `path`; a file that cannot be
    /// read as a model gives an entry with ``problem`` set, not an error.
    public init(id: String, path: String) {
        self.id = id
        self.path = path
        fileSize = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        do {
            // Mapping reads the header and tensor directory only; the mapping is dropped on return.
            let file = try GGUFFile(path: path)
            if try file.metadata.string("general.architecture") == BertConfiguration.architecture {
                // An embedding encoder: no KV cache is kept between requests.
                let bert = try BertConfiguration(metadata: file.metadata)
                architecture = BertConfiguration.architecture
                quantization = ModelService.quantization(of: file)
                contextLength = bert.contextLength
                kvCacheBytes = 0
                producesEmbeddings = true
                problem = nil
                return
            }
            let configuration = try ModelConfiguration(metadata: file.metadata)
            let pooling = try EmbeddingPooling.declared(in: file.metadata, architecture: configuration.architecture)
            architecture = configuration.architecture
            quantization = ModelService.quantization(of: file)
            contextLength = configuration.contextLength
            if pooling != nil {
                // A decoder embedding model: its caches live only while a batch is computed.
                kvCacheBytes = 0
                producesEmbeddings = true
            } else {
                // Keys and values, F32, for every layer and position it keeps (see KVCache).
                kvCacheBytes = 2 * 4 * configuration.kvCacheSlots(capacity: configuration.contextLength).reduce(0, +) * configuration.kvDimension
                producesEmbeddings = false
            }
            problem = nil
        } catch {
            architecture = nil
            quantization = nil
            contextLength = nil
            kvCacheBytes = 0
            producesEmbeddings = false
            problem = String(describing: error)
        }
    }

    /// The entry of `/v1/models`: OpenAI's fields, LM Studio's (`type`,
    /// `publisher`, `arch`, `compatibility_type`, `quantization`, `state`,
    /// `max_context_length`) and lmgate's (`size_bytes`, `memory_bytes`,
    /// `pinned`, `ttl` — the idle seconds before an unload, when one applies —
    /// and `error` for a file that cannot be served).
    func listing(loaded: Bool, pinned: Bool = false, idleTTL: Double? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id), "object": "model", "owned_by": .string(publisher ?? "lmgate"),
            "publisher": .string(publisher ?? "lmgate"), "type": producesEmbeddings ? "embeddings" : "llm", "compatibility_type": "gguf",
            "state": loaded ? "loaded" : "not-loaded", "size_bytes": .integer(fileSize), "memory_bytes": .integer(estimatedMemory),
        ]
        if let architecture {
            fields["arch"] = .string(architecture)
            fields["architecture"] = .string(architecture)
        }
        if let quantization { fields["quantization"] = .string(quantization) }
        if let contextLength {
            fields["max_context_length"] = .integer(contextLength)
            fields["context_length"] = .integer(contextLength)
        }
        fields["pinned"] = .bool(pinned)
        if let idleTTL, !pinned { fields["ttl"] = .number(idleTTL) }
        if let problem { fields["error"] = .string(problem) }
        return .object(fields)
    }
}
