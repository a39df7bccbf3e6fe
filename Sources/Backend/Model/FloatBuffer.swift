/// A fixed-size, zero-initialised array of `Float` at a stable address, for
/// the activations the kernels read and write through pointers.
///
/// Not thread-safe; a forward pass hands disjoint parts of a buffer to the
/// compute pool's threads.
final class FloatBuffer {
    /// The first element.
    let pointer: UnsafeMutablePointer<Float>
    /// The number of elements.
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        pointer.deallocate()
    }

    /// The `length` elements starting at `row * length`.
    func row(_ row: Int, length: Int) -> UnsafeMutablePointer<Float> {
        pointer + row * length
    }
}
