// Goodbye (BYE).
//
// RFC 3550 §6.6, https://www.rfc-editor.org/rfc/rfc3550#section-6.6
//
//        0                   1                   2                   3
//        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//       |V=2|P|    SC   |   PT=BYE=203  |             length            |
//       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//       |                           SSRC/CSRC                           |
//       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//       :                              ...                              :
//       +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// (opt) |     length    |               reason for leaving            ...
//       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The optional reason is padded with zeros to a word boundary; those zeros
// are not part of the text.

public struct Goodbye: RTCPMessage, Hashable {
    public var sources: [UInt32]
    /// Reason for leaving (normally UTF-8), empty when absent.
    public var reason: [UInt8]

    public init(sources: [UInt32], reason: [UInt8] = []) {
        self.sources = sources
        self.reason = reason
    }

    public init(sources: [UInt32], reason: String) {
        self.init(sources: sources, reason: Array(reason.utf8))
    }

    public var reasonString: String { String(decoding: reason, as: UTF8.self) }

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> Goodbye {
        let bounds = try RTCPPacketBounds.open(packet, type: RTCPPacketType.goodbye)
        let count = Int(bounds.header.count)
        let sourcesEnd = RTCPHeader.size + 4 * count
        guard sourcesEnd <= bounds.end else { throw .malformed }
        var sources: [UInt32] = []
        sources.reserveCapacity(count)
        for i in 0..<count { sources.append(packet.be32(RTCPHeader.size + 4 * i)) }
        var reason: [UInt8] = []
        if sourcesEnd < bounds.end {
            let length = Int(packet[sourcesEnd])
            guard sourcesEnd + 1 + length <= bounds.end else { throw .malformed }
            reason = packet.copyBytes(sourcesEnd + 1, length)
        }
        return Goodbye(sources: sources, reason: reason)
    }

    /// Appends the BYE. At most 31 sources fit the SC field; the reason is
    /// cut to 255 bytes.
    public func serialize(into buffer: inout [UInt8]) {
        let written = sources.prefix(31)
        let start = beginPacket(count: UInt8(written.count), type: RTCPPacketType.goodbye, into: &buffer)
        for source in written { buffer.appendBE32(source) }
        if !reason.isEmpty {
            let text = reason.prefix(255)
            buffer.append(UInt8(text.count))
            buffer.append(contentsOf: text)
        }
        finishPacket(startingAt: start, in: &buffer)
    }
}
