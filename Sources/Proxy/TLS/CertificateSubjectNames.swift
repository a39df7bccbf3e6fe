#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The DNS names and IP addresses a certificate for this machine should cover.
public struct CertificateSubjectNames: Sendable, Hashable {
    public var dnsNames: [String]
    public var ipAddresses: [String]

    public init(dnsNames: [String], ipAddresses: [String]) {
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
    }

    /// This host's name, `localhost`, the loopback addresses and the address
    /// of every network interface (link-local IPv6 ones left out: they are
    /// only meaningful with an interface name, which a certificate cannot hold).
    public static func forThisHost() -> CertificateSubjectNames {
        var dnsNames = ["localhost"]
        var hostname = [CChar](repeating: 0, count: 256)
        if gethostname(&hostname, hostname.count - 1) == 0 {
            let name = String(decoding: hostname.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if isValidDNSName(name), name != "localhost" { dnsNames.insert(name, at: 0) }
        }
        var addresses = ["127.0.0.1", "::1"]
        let devices = (try? System.enumerateDevices()) ?? []
        for device in devices {
            guard let address = device.address?.ipAddress, !address.hasPrefix("fe80:"), !address.contains("%") else { continue }
            if !addresses.contains(address) { addresses.append(address) }
        }
        return CertificateSubjectNames(dnsNames: dnsNames, ipAddresses: addresses)
    }

    /// Adds a DNS name or an IP address, whichever `nameOrAddress` is.
    /// - Throws: ``TLSError`` if it is neither.
    public mutating func add(_ nameOrAddress: String) throws {
        if Self.isValidIPAddress(nameOrAddress) {
            if !ipAddresses.contains(nameOrAddress) { ipAddresses.append(nameOrAddress) }
        } else if Self.isValidDNSName(nameOrAddress) {
            if !dnsNames.contains(nameOrAddress) { dnsNames.append(nameOrAddress) }
        } else {
            throw TLSError(.invalidConfiguration, "\"\(nameOrAddress)\" is neither a DNS name nor an IP address")
        }
    }

    /// Letters, digits, hyphens and dots, optionally a leading `*.`; nothing
    /// that could break OpenSSL's comma-separated extension syntax.
    static func isValidDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name).split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" }
        }
    }

    /// Whether `address` is a textual IPv4 or IPv6 address.
    static func isValidIPAddress(_ address: String) -> Bool {
        (try? SocketAddress(ipAddress: address, port: 0)) != nil
    }
}
