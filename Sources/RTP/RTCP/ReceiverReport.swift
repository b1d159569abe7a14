// Receiver report (RR).
//
// RFC 3550 §6.4.2, https://www.rfc-editor.org/rfc/rfc3550#section-6.4.2
//
//         0                   1                   2                   3
//         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// header |V=2|P|    RC   |   PT=RR=201   |             length            |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                     SSRC of packet sender                     |
//        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// report |                 report blocks (RC x 24 bytes)                 |
// blocks +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//        |                  profile-specific extensions                  |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// An RR with RC=0 (8 bytes) is the mandatory first packet of a compound
// when a receive-only endpoint has nothing to report yet (RFC 3550 §6.4.2).

public struct ReceiverReport: RTCPMessage, Hashable {
    /// SSRC of the reporting endpoint.
    public var ssrc: UInt32
    public var reportBlocks: [ReportBlock]
    /// Bytes after the report blocks (RFC 3550 §6.4.3), kept opaque.
    public var profileExtensions: [UInt8]

    /// Header and sender SSRC: the minimum RR.
    static let fixedLength = 8

    public init(ssrc: UInt32, reportBlocks: [ReportBlock] = [], profileExtensions: [UInt8] = []) {
        self.ssrc = ssrc
        self.reportBlocks = reportBlocks
        self.profileExtensions = profileExtensions
    }

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> ReceiverReport {
        let bounds = try RTCPPacketBounds.open(packet, type: RTCPPacketType.receiverReport)
        let count = Int(bounds.header.count)
        let blocksEnd = fixedLength + count * ReportBlock.size
        guard blocksEnd <= bounds.end else { throw .malformed }
        return ReceiverReport(
            ssrc: packet.be32(4),
            reportBlocks: ReportBlock.readBlocks(packet, at: fixedLength, count: count),
            profileExtensions: packet.copyBytes(blocksEnd, bounds.end - blocksEnd))
    }

    /// Appends the RR. Only the first 31 report blocks fit the RC field.
    public func serialize(into buffer: inout [UInt8]) {
        let blocks = reportBlocks.prefix(ReportBlock.maximumPerPacket)
        let start = beginPacket(count: UInt8(blocks.count), type: RTCPPacketType.receiverReport, into: &buffer)
        buffer.appendBE32(ssrc)
        for block in blocks { block.serialize(into: &buffer) }
        buffer.append(contentsOf: profileExtensions)
        finishPacket(startingAt: start, in: &buffer)
    }
}
