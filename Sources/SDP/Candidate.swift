// ICE candidate attribute fields (RFC 8839 §5.1). The description keeps
// candidates as strings (what JavaScript's RTCIceCandidate.candidate holds);
// this type reads the fields out of one when they are needed, e.g. to fill
// the c= line and m= port from our first candidate (RFC 8839 §4.2.1.1).

public struct SDPCandidate: Sendable, Equatable, Hashable {
    public var foundation: String
    public var component: UInt8
    /// "udp" / "tcp" as written (compare case-insensitively).
    public var transport: String
    public var priority: UInt32
    /// IP address or FQDN (mDNS ".local" names included).
    public var address: String
    public var port: UInt16
    /// host, srflx, prflx or relay.
    public var type: String
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    /// For TCP candidates: active, passive or so (RFC 6544 §4.5).
    public var tcpType: String?
    /// Every `name value` pair after the type, in order, including raddr,
    /// rport and tcptype, plus extensions such as generation or ufrag.
    public var extensions: [(name: String, value: String)]

    /// Parses `candidate:...`, also accepting an `a=` prefix or no prefix at
    /// all. Returns nil when a mandatory field is missing or not a number.
    public init?(_ text: String) {
        var body = Substring(text).sdpTrimmed
        if body.hasPrefix("a=") { body = body.dropFirst(2) }
        if body.hasPrefix("candidate:") { body = body.dropFirst("candidate:".count) }
        let fields = body.sdpFields
        guard fields.count >= 8, fields[6] == "typ",
              let component = UInt8(fields[1]), let priority = UInt32(fields[3]),
              let port = UInt16(fields[5]) else { return nil }
        foundation = String(fields[0])
        self.component = component
        transport = String(fields[2])
        self.priority = priority
        address = String(fields[4])
        self.port = port
        type = String(fields[7])
        extensions = []
        var index = 8
        while index + 1 < fields.count {
            let name = String(fields[index]), value = String(fields[index + 1])
            extensions.append((name, value))
            switch name {
            case "raddr": relatedAddress = value
            case "rport": relatedPort = UInt16(value)
            case "tcptype": tcpType = value
            default: break
            }
            index += 2
        }
    }

    /// True when the address is an IPv6 literal (for c=IN IP6, RFC 8866 §5.7).
    public var isIPv6: Bool { address.contains(":") }

    public static func == (lhs: SDPCandidate, rhs: SDPCandidate) -> Bool {
        lhs.foundation == rhs.foundation && lhs.component == rhs.component && lhs.transport == rhs.transport
            && lhs.priority == rhs.priority && lhs.address == rhs.address && lhs.port == rhs.port
            && lhs.type == rhs.type && lhs.relatedAddress == rhs.relatedAddress
            && lhs.relatedPort == rhs.relatedPort && lhs.tcpType == rhs.tcpType
            && lhs.extensions.map(\.name) == rhs.extensions.map(\.name)
            && lhs.extensions.map(\.value) == rhs.extensions.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(foundation)
        hasher.combine(component)
        hasher.combine(address)
        hasher.combine(port)
    }
}
