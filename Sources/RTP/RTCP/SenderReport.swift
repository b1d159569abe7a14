// Sender report (SR).
//
// RFC 3550 §6.4.1, https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
//
//         0                   1                   2                   3
//         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// header |V=2|P|    RC   |   PT=SR=200   |             length            |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                         SSRC of sender                        |
//        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// sender |              NTP timestamp, most significant word             |
// info   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |             NTP timestamp, least significant word             |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                         RTP timestamp                         |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                     sender's packet count                     |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                      sender's octet count                     |
//        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// report |                 report blocks (RC x 24 bytes)                 |
// blocks +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//        |                  profile-specific extensions                  |
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The sender info lets receivers map RTP time to wall-clock time (lip sync)
// and, echoed back as LSR/DLSR, lets the sender measure round-trip time.

public struct SenderReport: RTCPMessage, Hashable {
    public var ssrc: UInt32
    /// 64-bit NTP timestamp (32.32 fixed point seconds since 1900).
    public var ntpTimestamp: UInt64
    /// The same instant on the RTP media clock.
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reportBlocks: [ReportBlock]
    /// Bytes after the report blocks (RFC 3550 §6.4.3), kept opaque.
    public var profileExtensions: [UInt8]

    /// Header, sender SSRC and sender info: the minimum SR.
    static let fixedLength = 28

    public init(
        ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
        reportBlocks: [ReportBlock] = [], profileExtensions: [UInt8] = []
    ) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reportBlocks = reportBlocks
        self.profileExtensions = profileExtensions
    }

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> SenderReport {
        let bounds = try RTCPPacketBounds.open(packet, type: RTCPPacketType.senderReport)
        let count = Int(bounds.header.count)
        let blocksEnd = fixedLength + count * ReportBlock.size
        guard blocksEnd <= bounds.end else { throw .malformed }
        return SenderReport(
            ssrc: packet.be32(4), ntpTimestamp: packet.be64(8), rtpTimestamp: packet.be32(16),
            packetCount: packet.be32(20), octetCount: packet.be32(24),
            reportBlocks: ReportBlock.readBlocks(packet, at: fixedLength, count: count),
            profileExtensions: packet.copyBytes(blocksEnd, bounds.end - blocksEnd))
    }

    /// Appends the SR. Only the first 31 report blocks fit the RC field;
    /// callers with more sources add receiver reports to the compound.
    public func serialize(into buffer: inout [UInt8]) {
        let blocks = reportBlocks.prefix(ReportBlock.maximumPerPacket)
        let start = beginPacket(count: UInt8(blocks.count), type: RTCPPacketType.senderReport, into: &buffer)
        buffer.appendBE32(ssrc)
        buffer.appendBE64(ntpTimestamp)
        buffer.appendBE32(rtpTimestamp)
        buffer.appendBE32(packetCount)
        buffer.appendBE32(octetCount)
        for block in blocks { block.serialize(into: &buffer) }
        buffer.append(contentsOf: profileExtensions)
        finishPacket(startingAt: start, in: &buffer)
    }
}
