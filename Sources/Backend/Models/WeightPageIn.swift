/// Brings a model's mapped weights into memory before they are used: the
/// loading side of a model, shared by the server (``ModelService``) and
/// `lmgate bench`, so that loading never calls into benchmark code.
public enum WeightPageIn {
    /// Reads one byte of every page of every tensor, so that neither the first
    /// request nor the first benchmark measurement waits on page faults; calls `progress` with the
    /// fraction done.
    public static func pageIn(_ file: GGUFFile, progress: (Double) -> Void) {
        let total = file.tensors.values.reduce(0) { $0 + $1.byteCount }
        var done = 0
        var checksum: UInt8 = 0
        var lastReported = -1
        for name in file.tensorNames {
            guard let tensor = file.tensors[name] else { continue }
            for offset in stride(from: 0, to: tensor.byteCount, by: 4096) {
                checksum &+= tensor.data.load(fromByteOffset: offset, as: UInt8.self)
            }
            done += tensor.byteCount
            let percent = total == 0 ? 100 : done * 100 / total
            if percent != lastReported {
                lastReported = percent
                progress(Double(percent) / 100)
            }
        }
        // Keep the reads from being optimised away.
        if checksum == 0x5A { progress(1) }
    }
}
