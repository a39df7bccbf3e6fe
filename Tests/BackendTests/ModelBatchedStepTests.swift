import Foundation
import Testing

@testable import Backend

/// ``LanguageModel/step(_:pool:)``: several sequences' chunks (prompt
/// chunks and one-token decodes) in one pass give what each chunk gives
/// when run alone.
@Suite("Model batched steps")
struct ModelBatchedStepTests {
    /// Prompts of different lengths from the fixture's cases, so that the
    /// sequences of a step sit at different positions of their caches.
    static func prompts(_ name: String, count: Int) throws -> [[Int32]] {
        let cases = try FixtureModels.reference(name).cases
        return (0..<count).map { index in
            Array(cases[index % cases.count].promptTokens.prefix(5 + 3 * index))
        }
    }

    /// The largest |a − b| over two logit rows, and the largest |b|.
    static func difference(_ a: [Float], _ b: [Float]) -> (largest: Float, scale: Float) {
        (zip(a, b).map { abs($0 - $1) }.max() ?? .infinity, b.map(abs).max() ?? 0)
    }

    static func argmax(_ row: [Float]) -> Int32 {
        Int32(row.indices.max { row[$0] < row[$1] } ?? 0)
    }

    @Test("a decoding step of several sequences equals one forward pass per sequence",
          arguments: ["tiny-qwen2-f16", "compact-llama-spm-q8_0", "compact-llama-spm-q4_k_m"])
    func batchedDecodeEqualsSeparate(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let pool = ComputePool(threadCount: 2)
        // 5 sequences: the kernels take four at a time, then one.
        let prompts = try Self.prompts(name, count: 5)
        let batchCaches = prompts.map { _ in KVCache(for: model, capacity: 64) }
        let separateCaches = prompts.map { _ in KVCache(for: model, capacity: 64) }
        var next: [Int32] = []
        for (index, prompt) in prompts.enumerated() {
            _ = try model.forward(prompt, cache: batchCaches[index], pool: pool)
            next.append(Self.argmax(try model.forward(prompt, cache: separateCaches[index], pool: pool)))
        }
        var largest: Float = 0, scale: Float = 1
        // On the float kernels: a single sequence's matVec on an integer-dot
        // path rounds its activations, several sequences' matMul does not
        // (ModelDecodeAccuracyTests bounds the rounding).
        try KernelPath.$override.withValue(.portable) {
            for _ in 0..<2 {
                let chunks = zip(next, batchCaches).map { SequenceChunk(tokens: [$0], cache: $1) }
                let batched = try model.step(chunks, pool: pool)
                #expect(batched.count == prompts.count)
                for index in prompts.indices {
                    let separate = try model.forward([next[index]], cache: separateCaches[index], pool: pool)
                    let row = try #require(batched[index])
                    #expect(row.count == separate.count)
                    let (difference, magnitude) = Self.difference(row, separate)
                    (largest, scale) = (max(largest, difference), max(scale, magnitude))
                    #expect(batchCaches[index].count == separateCaches[index].count)
                    next[index] = Self.argmax(separate)
                }
            }
        }
        // Only the summation order differs (a single sequence's matVec reads
        // the quantized row directly; several share one expanded copy of it).
        print("\(name): largest |Δ logit| between batched and separate decoding \(largest), largest |logit| \(scale)")
        #expect(largest <= 1e-4 * scale)
    }

    /// Random steps mixing prompt chunks (from an empty cache or after a
    /// prefix already computed) and one-token decodes, some chunks asking
    /// for no logits; each is compared with the same chunk run alone by
    /// ``LanguageModel/forward(_:cache:pool:logitsFrom:)`` on a cache with
    /// the same history — the logits and every key and value appended.
    /// qwen3moe routes each row to its own experts; 40 rows in all cross
    /// the kernels' BLAS threshold (16 rows) where a chunk alone does not.
    @Test("prompt chunks and decodes of several sequences in one step equal each chunk run alone",
          arguments: ["tiny-qwen2-f16", "tiny-llama-spm-f16", "tiny-llama3-f16", "tiny-qwen3-f16", "tiny-qwen3moe-f16", "compact-llama-spm-q8_0"])
    func mixedStepEqualsAlone(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let pool = ComputePool(threadCount: 2)
        let cases = try FixtureModels.reference(name).cases
        let c = model.configuration
        var random = SeededRandomGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        var largest: Float = 0, scale: Float = 1, largestCache: Float = 0
        try KernelPath.$override.withValue(.portable) {
            for round in 0..<3 {
                let count = Int.random(in: 2...5, using: &random)
                var chunks: [SequenceChunk] = []
                var alone: [KVCache] = []
                for index in 0..<count {
                    let source = cases[(round + index) % cases.count]
                    let tokens = source.promptTokens + source.generatedTokens
                    // History already in the cache, then the chunk: a decode
                    // (one token after a prefix) or a prompt chunk.
                    let history = Int.random(in: 0...min(12, tokens.count - 2), using: &random)
                    let length = history > 0 && Bool.random(using: &random)
                        ? 1 : Int.random(in: 1...min(16, tokens.count - history), using: &random)
                    let batchCache = KVCache(for: model, capacity: 48)
                    let aloneCache = KVCache(for: model, capacity: 48)
                    if history > 0 {
                        _ = try model.forward(Array(tokens.prefix(history)), cache: batchCache, pool: pool)
                        _ = try model.forward(Array(tokens.prefix(history)), cache: aloneCache, pool: pool)
                    }
                    let chunk = Array(tokens[history..<history + length])
                    chunks.append(SequenceChunk(tokens: chunk, cache: batchCache, wantsLogits: index == 0 || Bool.random(using: &random)))
                    alone.append(aloneCache)
                }
                let batched = try model.step(chunks, pool: pool)
                #expect(batched.count == chunks.count)
                for (index, chunk) in chunks.enumerated() {
                    let separate = try model.forward(chunk.tokens, cache: alone[index], pool: pool)
                    #expect(chunk.cache.count == alone[index].count)
                    if chunk.wantsLogits {
                        let row = try #require(batched[index])
                        let (difference, magnitude) = Self.difference(row, separate)
                        (largest, scale) = (max(largest, difference), max(scale, magnitude))
                    } else {
                        #expect(batched[index] == nil)
                    }
                    for layer in 0..<c.layerCount {
                        for position in 0..<alone[index].count {
                            for (batchRow, aloneRow) in [
                                (chunk.cache.key(layer: layer, position: position), alone[index].key(layer: layer, position: position)),
                                (chunk.cache.value(layer: layer, position: position), alone[index].value(layer: layer, position: position)),
                            ] {
                                for element in 0..<c.kvDimension {
                                    largestCache = max(largestCache, abs(batchRow[element] - aloneRow[element]))
                                }
                            }
                        }
                    }
                }
            }
        }
        print("\(name): largest |Δ logit| between a batched step and each chunk alone \(largest), largest |logit| \(scale), largest |Δ key/value| \(largestCache)")
        #expect(largest <= 1e-4 * scale)
        #expect(largestCache <= 1e-4)
    }

    /// On the kernel path this CPU runs (integer-dot decode where it has
    /// one), the rows of a step of several rows are still multiplied in
    /// `Float`: a decoding sequence's logits in a step equal those the
    /// float kernels give it alone, closer to exact than its integer-dot
    /// decode alone.
    @Test("on the active kernel path, a step's rows are multiplied in Float as on the portable path")
    func mixedStepOnActivePath() throws {
        let name = "compact-llama-spm-q8_0"
        let model = try LanguageModel(path: FixtureModels.path(name))
        let pool = ComputePool(threadCount: 2)
        let prompts = try Self.prompts(name, count: 3)
        // A prompt from scratch, and two sequences decoding after their prompts.
        let caches = prompts.map { _ in KVCache(for: model, capacity: 64) }
        let aloneCaches = prompts.map { _ in KVCache(for: model, capacity: 64) }
        var chunks = [SequenceChunk(tokens: prompts[0], cache: caches[0])]
        for index in 1..<3 {
            let next = Self.argmax(try model.forward(prompts[index], cache: caches[index], pool: pool))
            _ = try model.forward(prompts[index], cache: aloneCaches[index], pool: pool)
            chunks.append(SequenceChunk(tokens: [next], cache: caches[index]))
        }
        let batched = try model.step(chunks, pool: pool)
        var largest: Float = 0, scale: Float = 1
        for (index, chunk) in chunks.enumerated() {
            let separate = try KernelPath.$override.withValue(.portable) {
                try model.forward(chunk.tokens, cache: aloneCaches[index], pool: pool)
            }
            let (difference, magnitude) = Self.difference(try #require(batched[index]), separate)
            (largest, scale) = (max(largest, difference), max(scale, magnitude))
        }
        print("\(name) on \(KernelPath.active.rawValue): largest |Δ logit| between a step and each chunk alone in Float \(largest), largest |logit| \(scale)")
        #expect(largest <= 1e-4 * scale)
    }

    /// A step of one-token decodes multiplies each row as its sequence
    /// decoding alone does (integer-dot where the active path has a kernel
    /// for the weights' type), so a sequence's keys and values — and so its
    /// text — do not depend on how many decode beside it: equal bit for bit.
    /// (The logits stay in Float and differ only in summation order.)
    @Test("on the active kernel path, a step of one-token decodes equals each sequence decoding alone",
          arguments: ["compact-llama-spm-q8_0", "compact-llama-spm-q4_k_m", "compact-llama-spm-q4_0", "compact-llama-spm-q6_k"])
    func decodeStepIsBatchInvariant(name: String) throws {
        let model = try LanguageModel(path: FixtureModels.path(name))
        let pool = ComputePool(threadCount: 2)
        let prompts = try Self.prompts(name, count: 5)
        let caches = prompts.map { _ in KVCache(for: model, capacity: 64) }
        let aloneCaches = prompts.map { _ in KVCache(for: model, capacity: 64) }
        var next: [Int32] = []
        for (index, prompt) in prompts.enumerated() {
            _ = try model.forward(prompt, cache: caches[index], pool: pool)
            next.append(Self.argmax(try model.forward(prompt, cache: aloneCaches[index], pool: pool)))
        }
        let types = Set(model.layers.flatMap { [$0.query.type, $0.attentionOutput.type] })
        let integer = types.allSatisfy(KernelPath.active.integerTypes.contains)
        var largestCache: Float = 0, largest: Float = 0, scale: Float = 1
        for _ in 0..<3 {
            let batched = try model.step(zip(next, caches).map { SequenceChunk(tokens: [$0], cache: $1) }, pool: pool)
            for index in prompts.indices {
                let alone = try model.forward([next[index]], cache: aloneCaches[index], pool: pool)
                let (difference, magnitude) = Self.difference(try #require(batched[index]), alone)
                (largest, scale) = (max(largest, difference), max(scale, magnitude))
                let position = aloneCaches[index].count - 1
                for layer in 0..<model.configuration.layerCount {
                    for (a, b) in [
                        (caches[index].key(layer: layer, position: position), aloneCaches[index].key(layer: layer, position: position)),
                        (caches[index].value(layer: layer, position: position), aloneCaches[index].value(layer: layer, position: position)),
                    ] {
                        for element in 0..<model.configuration.kvDimension { largestCache = max(largestCache, abs(a[element] - b[element])) }
                    }
                }
                next[index] = Self.argmax(alone)
            }
        }
        print("\(name) on \(KernelPath.active.rawValue) (integer-dot: \(integer)): largest |Δ key/value| \(largestCache), |Δ logit| \(largest) of \(scale)")
        if integer {
            #expect(largestCache == 0, "a decode step's rows must be computed as each sequence's alone")
        } else {
            #expect(largestCache <= 1e-4)
        }
        #expect(largest <= 1e-4 * scale)
    }

    @Test("an empty or shared chunk, a foreign or full cache, a bad token and no chunks are clear errors that run nothing")
    func stepErrors() throws {
        let model = try LanguageModel(path: FixtureModels.path("tiny-llama-spm-f16"))
        // One key/value head instead of two: its caches are half as wide.
        let other = try LanguageModel(path: FixtureModels.path("tiny-llama3-f16"))
        let pool = ComputePool(threadCount: 1)
        let cache = KVCache(for: model, capacity: 4)
        let good = SequenceChunk(tokens: [1, 2], cache: KVCache(for: model, capacity: 4))
        let failures: [(chunks: [SequenceChunk], code: InferenceError.Code)] = [
            ([], .emptyInput),
            ([good, SequenceChunk(tokens: [], cache: cache)], .emptyInput),
            ([SequenceChunk(tokens: [1], cache: cache), SequenceChunk(tokens: [2], cache: cache)], .invalidCache),
            ([good, SequenceChunk(tokens: [1], cache: KVCache(for: other, capacity: 4))], .invalidCache),
            ([good, SequenceChunk(tokens: [-1], cache: cache)], .invalidToken),
            ([good, SequenceChunk(tokens: [1, 99_999], cache: cache)], .invalidToken),
            ([good, SequenceChunk(tokens: [1, 2, 3, 4, 5], cache: cache)], .contextFull),
        ]
        for failure in failures {
            let error = #expect(throws: InferenceError.self) { try model.step(failure.chunks, pool: pool) }
            #expect(error?.code == failure.code)
        }
        #expect(cache.count == 0 && good.cache.count == 0)
    }
}
