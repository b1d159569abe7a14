// Reception report block, carried by sender and receiver reports.
//
// RFC 3550 §6.4.1, https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// |                 SSRC_1 (SSRC of first source)                 |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | fraction lost |       cumulative number of packets lost       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           extended highest sequence number received           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                      interarrival jitter                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         last SR (LSR)                         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                   delay since last SR (DLSR)                  |
// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//
// "cumulative number of packets lost" is a *signed* 24-bit integer: it goes
// negative when duplicates outnumber losses (RFC 3550 §6.4.1), so it is
// sign-extended on parse and clamped to the 24-bit range on write.

public struct ReportBlock: Sendable, Equatable, Hashable {
    /// The source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, in 1/256 units.
    public var fractionLost: UInt8
    /// Packets lost since reception began; 24-bit signed on the wire.
    public var cumulativeLost: Int32
    /// Cycle count (high 16 bits) and highest sequence number received.
    public var highestSequence: UInt32
    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received (0: none).
    public var lastSR: UInt32
    /// Delay since that SR, in 1/65536 seconds.
    public var delaySinceLastSR: UInt32

    public static let size = 24
    /// Range of the signed 24-bit cumulative loss field.
    public static let cumulativeLostRange: ClosedRange<Int32> = -0x80_0000...0x7F_FFFF

    public init(
        ssrc: UInt32, fractionLost: UInt8 = 0, cumulativeLost: Int32 = 0, highestSequence: UInt32 = 0,
        jitter: UInt32 = 0, lastSR: UInt32 = 0, delaySinceLastSR: UInt32 = 0
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.highestSequence = highestSequence
        self.jitter = jitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }

    /// Reads a block at `offset`; the caller checked that 24 bytes are there.
    static func read(_ bytes: Span<UInt8>, at offset: Int) -> ReportBlock {
        let lossWord = bytes.be32(offset + 4)
        // Shift the 24-bit field to the top, then arithmetic-shift it back
        // down to sign-extend.
        let cumulative = Int32(bitPattern: lossWord &<< 8) >> 8
        return ReportBlock(
            ssrc: bytes.be32(offset), fractionLost: UInt8(truncatingIfNeeded: lossWord &>> 24),
            cumulativeLost: cumulative, highestSequence: bytes.be32(offset + 8),
            jitter: bytes.be32(offset + 12), lastSR: bytes.be32(offset + 16),
            delaySinceLastSR: bytes.be32(offset + 20))
    }

    /// Reads `count` consecutive blocks from `offset`; the caller checked the length.
    static func readBlocks(_ bytes: Span<UInt8>, at offset: Int, count: Int) -> [ReportBlock] {
        var blocks: [ReportBlock] = []
        blocks.reserveCapacity(count)
        for i in 0..<count { blocks.append(read(bytes, at: offset + i * size)) }
        return blocks
    }

    public func serialize(into buffer: inout [UInt8]) {
        buffer.appendBE32(ssrc)
        let clamped = min(max(cumulativeLost, Self.cumulativeLostRange.lowerBound), Self.cumulativeLostRange.upperBound)
        buffer.append(fractionLost)
        buffer.appendBE24(UInt32(bitPattern: clamped) & 0xFF_FFFF)
        buffer.appendBE32(highestSequence)
        buffer.appendBE32(jitter)
        buffer.appendBE32(lastSR)
        buffer.appendBE32(delaySinceLastSR)
    }

    /// The report count field has 5 bits: a report carries at most 31 blocks
    /// (RFC 3550 §6.4: more need additional RR packets in the compound).
    public static let maximumPerPacket = 31
}

/// NTP timestamp helpers (RFC 3550 §4): 32.32 fixed point seconds since 1900.
public enum NTPTime {
    /// The middle 32 bits, as carried in LSR (RFC 3550 §6.4.1).
    @inlinable
    public static func middle32(_ ntp: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ntp &>> 16)
    }

    /// Converts a duration to the 1/65536 s units of DLSR, saturating.
    @inlinable
    public static func compactUnits(_ duration: Duration) -> UInt32 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        if seconds >= 65536 { return .max }
        let fraction = UInt64(attoseconds) / 15_258_789_062_500  // 1e18 / 65536
        return UInt32(seconds) &<< 16 | UInt32(min(fraction, 0xFFFF))
    }
}
