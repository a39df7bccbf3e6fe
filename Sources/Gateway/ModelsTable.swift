import Foundation

/// The table `lmgate models list` and `lmgate status` print: one model a line.
public enum ModelsTable {
    /// `models` as aligned columns: state, id, architecture, quantization,
    /// context, size, and what unloads the model (`pinned`: nothing; `idle
    /// 600s`: its TTL; `-`: only an eviction or `lmgate models unload`).
    public static func render(_ models: [BackendModelsClient.Model]) -> String {
        guard !models.isEmpty else { return "no models" }
        let rows = models.map { model -> [String] in
            [
                model.problem != nil ? "error" : model.loaded ? "loaded" : "-", model.id, model.architecture ?? "-",
                model.quantization ?? "-", model.contextLength.map { "ctx \($0)" } ?? "-",
                model.sizeBytes.map { "\($0 / 1_000_000) MB" } ?? "-",
                model.pinned ? "pinned" : model.idleTTL.map { "idle \(Int($0.rounded()))s" } ?? "-",
            ] + (model.problem.map { ["(\($0))"] } ?? [])
        }
        let header = ["STATE", "ID", "ARCH", "QUANT", "CONTEXT", "SIZE", "UNLOAD"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index < widths.count - 1 && index < cells.count - 1 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) : cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
