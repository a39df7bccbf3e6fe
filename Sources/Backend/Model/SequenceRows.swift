/// The rows of a batch that belong to one sequence: consecutive tokens that
/// go to positions `start`, `start + 1`, … of that sequence's cache.
///
/// A prompt is one sequence of many rows; a step shared by several sequences
/// (``LanguageModel/step(_:pool:)``) has one row for each sequence that
/// decodes and a chunk of rows for each prompt.
struct SequenceRows {
    /// The sequence's cache; the rows' keys and values are appended to it.
    let cache: KVCache
    /// The position of the first row (the cache's count before the batch).
    let start: Int
    /// The rows of the batch, in order of position.
    let rows: Range<Int>
}
