import Foundation

/// A folder of GGUF models (`backend.models_dir`, `--models-dir`): every
/// `*.gguf` file in it or below it, as LM Studio lays them out
/// (`publisher/model/file.gguf`), each with the id LM Studio's layout
/// suggests: its path relative to the folder, without `.gguf`.
///
/// Hidden files and folders (`.cache`, `.DS_Store`) are skipped. Symbolic
/// links are followed, so a folder of links to models elsewhere works.
public enum ModelFolder {
    /// The GGUF files under `folder`, sorted by id, their headers read.
    ///
    /// - Throws: ``ModelFolderError`` when the folder cannot be read, holds no
    ///   GGUF file, or two files have the same id (ids are matched without
    ///   regard to case, as clients' names are, so `A.gguf` and `a.GGUF` clash).
    public static func scan(_ folder: String) throws(ModelFolderError) -> [ModelEntry] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw ModelFolderError("the models folder '\(folder)' does not exist")
        }
        guard isDirectory.boolValue else { throw ModelFolderError("the models folder '\(folder)' is not a folder") }
        guard FileManager.default.isReadableFile(atPath: folder), FileManager.default.isExecutableFile(atPath: folder) else {
            throw ModelFolderError("the models folder '\(folder)' cannot be read: permission denied for this user")
        }
        let paths: [String]
        do {
            paths = try FileManager.default.subpathsOfDirectory(atPath: folder)
        } catch {
            throw ModelFolderError("the models folder '\(folder)' cannot be read: \(Self.reason(error))")
        }
        var found: [String: String] = [:]
        var entries: [ModelEntry] = []
        for relative in paths.sorted() {
            guard let id = modelID(relativePath: relative) else { continue }
            let path = (folder as NSString).appendingPathComponent(relative)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            if let other = found.updateValue(relative, forKey: id.lowercased()) {
                throw ModelFolderError(
                    "two files in '\(folder)' have the id '\(id)': '\(other)' and '\(relative)'; rename or move one of them")
            }
            entries.append(ModelEntry(id: id, path: path))
        }
        guard !entries.isEmpty else {
            throw ModelFolderError("the models folder '\(folder)' holds no .gguf file (looked in its subfolders too)")
        }
        return entries.sorted { $0.id < $1.id }
    }

    /// The id of the file at `relativePath`, or `nil` when it is not a
    /// model: not named `.gguf` (any case), or hidden (a component starts with a dot).
    static func modelID(relativePath: String) -> String? {
        let components = relativePath.split(separator: "/")
        guard let name = components.last, !components.contains(where: { $0.hasPrefix(".") }) else { return nil }
        guard name.count > 5, name.lowercased().hasSuffix(".gguf") else { return nil }
        return String(relativePath.dropLast(5))
    }

    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        return underlying?.localizedDescription ?? (error as NSError).localizedDescription
    }
}

/// A models folder that cannot be served, with the reason.
public struct ModelFolderError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
