/// Application-Layer Protocol Negotiation (RFC 7301) on the server side.
enum ALPNSelection {
    /// Picks the first protocol in `serverPreference` that the client offered.
    ///
    /// - Parameter clientWireList: the client's list as sent on the wire, each
    ///   name preceded by its one-byte length.
    /// - Returns: the byte range of the chosen name inside `clientWireList`,
    ///   or `nil` if nothing matches or the list is malformed.
    static func choose(serverPreference: [String], clientWireList: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var offered: [Range<Int>] = []
        var index = 0
        while index < clientWireList.count {
            let length = Int(clientWireList[index])
            let start = index + 1
            guard length > 0, start + length <= clientWireList.count else { return nil }
            offered.append(start..<(start + length))
            index = start + length
        }
        for wanted in serverPreference {
            let wantedBytes = Array(wanted.utf8)
            if let match = offered.first(where: { clientWireList[$0].elementsEqual(wantedBytes) }) {
                return match
            }
        }
        return nil
    }

    /// Encodes protocol names in the wire format (one length byte before each).
    static func wireFormat(_ protocols: [String]) -> [UInt8] {
        protocols.flatMap { name -> [UInt8] in
            let bytes = Array(name.utf8.prefix(255))
            return [UInt8(bytes.count)] + bytes
        }
    }
}
