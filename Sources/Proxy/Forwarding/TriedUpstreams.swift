/// The upstreams a request has been sent to, in order (failover skips them).
///
/// Almost every request tries one upstream, so the latest is kept inline and
/// only earlier ones go to an array: an `[Int]` allocated its storage on
/// every request, this allocates only when a request fails over.
struct TriedUpstreams: Equatable, ExpressibleByArrayLiteral {
    /// The upstreams tried before ``last``, oldest first.
    private var earlier: [Int] = []
    /// The upstream tried last; `nil` only while nothing was tried.
    private(set) var last: Int?

    init() {}

    init(arrayLiteral upstreams: Int...) {
        for upstream in upstreams { self.append(upstream) }
    }

    var count: Int { self.earlier.count + (self.last == nil ? 0 : 1) }
    var isEmpty: Bool { self.last == nil }

    func contains(_ upstream: Int) -> Bool {
        self.last == upstream || self.earlier.contains(upstream)
    }

    mutating func append(_ upstream: Int) {
        if let last = self.last { self.earlier.append(last) }
        self.last = upstream
    }

    /// Forgets the upstream tried last (it is tried again).
    mutating func removeLast() {
        precondition(self.last != nil, "no upstream was tried")
        self.last = self.earlier.popLast()
    }
}
