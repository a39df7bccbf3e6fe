import ArgumentParser
import Backend
import Foundation
import Proxy

/// The models `lmgate backend` serves and the limits on them, from its options.
extension BackendCommand {
    /// The models served: every GGUF of `--models-dir`, or the `--model` file.
    func entries() throws -> [ModelEntry] {
        if let modelsDir {
            do {
                return try ModelFolder.scan(modelsDir)
            } catch {
                throw ValidationError(error.description)
            }
        }
        let path = try modelPath()
        return [ModelEntry(id: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, path: path)]
    }

    func limits() throws -> ModelResidency.Limits {
        func seconds(_ text: String, _ option: String) throws -> Double {
            guard let duration = SettingValueParsing.duration(text), duration > .zero else {
                throw ValidationError("\(option) must be a duration above zero such as 30s, 15m or 1h, not '\(text)'")
            }
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        var limits = ModelResidency.Limits()
        limits.idleTTL = try idleTTL.map { try seconds($0, "--idle-ttl") }
        if let maxLoaded {
            guard maxLoaded >= 1 else { throw ValidationError("--max-loaded must be at least 1") }
            limits.maxLoaded = maxLoaded
        }
        if let maxMemory {
            guard let bytes = SettingValueParsing.byteCount(maxMemory), bytes > 0 else {
                throw ValidationError("--max-memory must be a size such as 8g or 512m, not '\(maxMemory)'")
            }
            limits.maxMemory = bytes
        }
        for pair in modelTTLs {
            let (id, ttl) = try Self.split(pair, option: "--model-ttl", shape: "ID=DURATION")
            limits.idleTTLByModel[id] = try seconds(ttl, "--model-ttl \(id)")
        }
        limits.pinned = Set(pinned)
        return limits
    }

    func aliasTable() throws -> [String: String] {
        var table: [String: String] = [:]
        for pair in aliases {
            let (alias, id) = try Self.split(pair, option: "--alias", shape: "NAME=ID")
            table[alias] = id
        }
        return table
    }

    /// `NAME=VALUE` split at its last `=` (names may hold one; ids and values do not).
    static func split(_ pair: String, option: String, shape: String) throws -> (String, String) {
        guard let equals = pair.lastIndex(of: "="), equals != pair.startIndex, pair.index(after: equals) != pair.endIndex else {
            throw ValidationError("\(option) takes \(shape), not '\(pair)'")
        }
        return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
    }
}
