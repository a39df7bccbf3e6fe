import Foundation

@testable import Backend

/// Writes a whole GGUF model in memory: metadata of a few kinds and F32
/// tensors with chosen values, for tests of malformed architectures (a
/// wrong expert count, a missing norm, a mismatched shape) that need a file
/// no converter would write.
struct GGUFTestModelBuilder {
    enum Value {
        case uint32(UInt32)
        case float32(Float)
        case bool(Bool)
        case string(String)
        case int32(Int32)
        case boolArray([Bool])
    }

    var metadata: [(String, Value)] = []
    /// Tensors in file order: name, GGUF dimensions (innermost first), values.
    var tensors: [(name: String, dimensions: [Int], values: [Float])] = []

    /// Adds an F32 tensor of `dimensions` whose element `i` is `value(i)`.
    mutating func tensor(_ name: String, _ dimensions: [Int], value: (Int) -> Float) {
        tensors.append((name, dimensions, (0..<dimensions.reduce(1, *)).map(value)))
    }

    /// Removes the tensor or metadata key `name`.
    mutating func remove(_ name: String) {
        tensors.removeAll { $0.name == name }
        metadata.removeAll { $0.0 == name }
    }

    /// Sets metadata `key`, replacing an earlier value.
    mutating func set(_ key: String, _ value: Value) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    /// The file's bytes (GGUF version 3, 32-byte alignment).
    func bytes() -> [UInt8] {
        var b = GGUFTestFileBuilder()
        b.bytes += Array("GGUF".utf8)
        b.u32(3)
        b.u64(UInt64(tensors.count))
        b.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            b.string(key)
            switch value {
            case .uint32(let v): b.u32(4); b.u32(v)
            case .float32(let v): b.u32(6); b.f32(v)
            case .bool(let v): b.u32(7); b.u8(v ? 1 : 0)
            case .string(let v): b.u32(8); b.string(v)
            case .int32(let v): b.u32(5); b.u32(UInt32(bitPattern: v))
            case .boolArray(let v): b.u32(9); b.u32(7); b.u64(UInt64(v.count)); for flag in v { b.u8(flag ? 1 : 0) }
            }
        }
        var offset = 0
        for tensor in tensors {
            b.string(tensor.name)
            b.u32(UInt32(tensor.dimensions.count))
            for extent in tensor.dimensions { b.u64(UInt64(extent)) }
            b.u32(0)  // F32
            b.u64(UInt64(offset))
            offset += (tensor.values.count * 4 + 31) / 32 * 32
        }
        b.pad(to: 32)
        for tensor in tensors {
            for value in tensor.values { b.f32(value) }
            b.pad(to: 32)
        }
        return b.bytes
    }

    /// A tiny qwen3moe model: vocabulary 16, width 8, one block of 2 query
    /// heads and 1 key/value head of 4, 4 experts of width 8 of which 2 run.
    /// Every weight is a small deterministic value, so the model runs.
    static func tinyQwen3MoE() -> GGUFTestModelBuilder {
        var m = GGUFTestModelBuilder()
        let a = "qwen3moe"
        m.set("general.architecture", .string(a))
        for (key, value) in [
            ("context_length", 64), ("embedding_length", 8), ("block_count", 1), ("feed_forward_length", 16),
            ("attention.head_count", 2), ("attention.head_count_kv", 1), ("attention.key_length", 4),
            ("attention.value_length", 4), ("expert_count", 4), ("expert_used_count", 2),
            ("expert_feed_forward_length", 8),
        ] {
            m.set("\(a).\(key)", .uint32(UInt32(value)))
        }
        m.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        m.set("\(a).rope.freq_base", .float32(10_000))
        let wave = { (i: Int) -> Float in Float((i * 7919) % 23 - 11) / 40 }
        let ones = { (_: Int) -> Float in 1 }
        m.tensor("token_embd.weight", [8, 16], value: wave)
        m.tensor("blk.0.attn_norm.weight", [8], value: ones)
        m.tensor("blk.0.attn_q.weight", [8, 8], value: wave)
        m.tensor("blk.0.attn_k.weight", [8, 4], value: wave)
        m.tensor("blk.0.attn_v.weight", [8, 4], value: wave)
        m.tensor("blk.0.attn_q_norm.weight", [4], value: ones)
        m.tensor("blk.0.attn_k_norm.weight", [4], value: ones)
        m.tensor("blk.0.attn_output.weight", [8, 8], value: wave)
        m.tensor("blk.0.ffn_norm.weight", [8], value: ones)
        m.tensor("blk.0.ffn_gate_inp.weight", [8, 4], value: wave)
        m.tensor("blk.0.ffn_gate_exps.weight", [8, 8, 4], value: wave)
        m.tensor("blk.0.ffn_up_exps.weight", [8, 8, 4], value: wave)
        m.tensor("blk.0.ffn_down_exps.weight", [8, 8, 4], value: wave)
        m.tensor("output_norm.weight", [8], value: ones)
        return m
    }

    /// A tiny gemma3 model: vocabulary 16, width 8, two blocks (both sliding,
    /// window 4, in llama.cpp's default pattern of 6) of 2 query heads and
    /// 1 key/value head of 4, GeGLU of width 16.
    static func tinyGemma3() -> GGUFTestModelBuilder {
        var m = GGUFTestModelBuilder()
        let a = "gemma3"
        m.set("general.architecture", .string(a))
        for (key, value) in [
            ("context_length", 64), ("embedding_length", 8), ("block_count", 2), ("feed_forward_length", 16),
            ("attention.head_count", 2), ("attention.head_count_kv", 1), ("attention.key_length", 4),
            ("attention.value_length", 4), ("attention.sliding_window", 4),
        ] {
            m.set("\(a).\(key)", .uint32(UInt32(value)))
        }
        m.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        m.set("\(a).rope.freq_base", .float32(1_000_000))
        let wave = { (i: Int) -> Float in Float((i * 7919) % 23 - 11) / 40 }
        let ones = { (_: Int) -> Float in 1 }
        m.tensor("token_embd.weight", [8, 16], value: wave)
        for layer in 0..<2 {
            let p = "blk.\(layer)."
            m.tensor(p + "attn_norm.weight", [8], value: ones)
            m.tensor(p + "attn_q.weight", [8, 8], value: wave)
            m.tensor(p + "attn_k.weight", [8, 4], value: wave)
            m.tensor(p + "attn_v.weight", [8, 4], value: wave)
            m.tensor(p + "attn_q_norm.weight", [4], value: ones)
            m.tensor(p + "attn_k_norm.weight", [4], value: ones)
            m.tensor(p + "attn_output.weight", [8, 8], value: wave)
            m.tensor(p + "post_attention_norm.weight", [8], value: ones)
            m.tensor(p + "ffn_norm.weight", [8], value: ones)
            m.tensor(p + "ffn_gate.weight", [8, 16], value: wave)
            m.tensor(p + "ffn_up.weight", [8, 16], value: wave)
            m.tensor(p + "ffn_down.weight", [16, 8], value: wave)
            m.tensor(p + "post_ffw_norm.weight", [8], value: ones)
        }
        m.tensor("output_norm.weight", [8], value: ones)
        return m
    }
}
