// RTP fixed header, CSRC list and header extension block.
//
// RFC 3550 §5.1, https://www.rfc-editor.org/rfc/rfc3550#section-5.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                           timestamp                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           synchronization source (SSRC) identifier            |
// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// |            contributing source (CSRC) identifiers             |
// |                             ....                              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Header extension, present when X=1 (RFC 3550 §5.3.1):
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      defined by profile       |           length              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                        header extension                       |
// |                             ....                              |
//
// `length` counts 32-bit words of extension data, excluding this 4-byte
// header. With P=1 the last payload byte counts the padding bytes, itself
// included. The element format inside the block (RFC 8285) lives in
// RTPHeaderExtension.swift.

/// A validated view of an RTP packet's header. It copies the scalar fields and
/// records *offsets* into the buffer it was parsed from, so parsing allocates
/// nothing and the payload can be read or rewritten in the caller's buffer.
public struct RTPHeader: Sendable, Equatable, Hashable {
    public let hasPadding: Bool
    public let hasExtension: Bool
    /// Number of CSRC identifiers (the CC field, 0...15).
    public let csrcCount: Int
    public let marker: Bool
    public let payloadType: UInt8
    public let sequenceNumber: UInt16
    public let timestamp: UInt32
    public let ssrc: UInt32
    /// Bytes from the start of the packet to the first payload byte: the
    /// fixed header, the CSRC list and the whole extension block.
    public let headerLength: Int
    /// Payload bytes, padding excluded.
    public let payloadLength: Int
    /// Trailing padding bytes (0 when P=0), the count byte included.
    public let paddingLength: Int
    /// The 16-bit "defined by profile" field; 0 when there is no extension.
    public let extensionProfile: UInt16
    /// Offset of the first byte of extension data (after the 4-byte block
    /// header); 0 when there is no extension.
    public let extensionOffset: Int
    /// Bytes of extension data (the length field times 4).
    public let extensionLength: Int

    /// The fixed header is 12 bytes (RFC 3550 §5.1).
    public static let fixedHeaderLength = 12

    @inlinable
    init(
        hasPadding: Bool, hasExtension: Bool, csrcCount: Int, marker: Bool, payloadType: UInt8,
        sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32, headerLength: Int,
        payloadLength: Int, paddingLength: Int, extensionProfile: UInt16, extensionOffset: Int,
        extensionLength: Int
    ) {
        self.hasPadding = hasPadding
        self.hasExtension = hasExtension
        self.csrcCount = csrcCount
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.headerLength = headerLength
        self.payloadLength = payloadLength
        self.paddingLength = paddingLength
        self.extensionProfile = extensionProfile
        self.extensionOffset = extensionOffset
        self.extensionLength = extensionLength
    }

    /// Offset of the first payload byte (same as `headerLength`).
    @inlinable public var payloadOffset: Int { headerLength }
    /// Total packet length the header describes (header, payload, padding).
    @inlinable public var packetLength: Int { headerLength + payloadLength + paddingLength }
    /// Offset of the first CSRC identifier.
    @inlinable public var csrcOffset: Int { Self.fixedHeaderLength }

    // MARK: Parsing

    /// Parses and validates the header at the start of `bytes`; the whole
    /// buffer is taken to be the packet (a datagram), so padding is located
    /// at its end.
    @inlinable
    public static func parse(_ bytes: Span<UInt8>) throws(RTPError) -> RTPHeader {
        let count = bytes.count
        guard count >= fixedHeaderLength else { throw .truncated }
        let b0 = bytes[0]
        let version = b0 &>> 6
        guard version == 2 else { throw .badVersion(version) }
        let csrcCount = Int(b0 & 0x0F)
        var headerLength = fixedHeaderLength + 4 * csrcCount
        guard headerLength <= count else { throw .truncated }

        let hasExtension = b0 & 0x10 != 0
        var profile: UInt16 = 0
        var extensionOffset = 0
        var extensionLength = 0
        if hasExtension {
            guard headerLength + 4 <= count else { throw .truncated }
            profile = bytes.be16(headerLength)
            extensionLength = Int(bytes.be16(headerLength + 2)) * 4
            extensionOffset = headerLength + 4
            headerLength = extensionOffset + extensionLength
            guard headerLength <= count else { throw .truncated }
        }

        let hasPadding = b0 & 0x20 != 0
        var padding = 0
        if hasPadding {
            // The count byte includes itself, so 0 is impossible, and padding
            // may eat the whole payload (padding-only probes) but not the header.
            padding = Int(bytes[count - 1])
            guard padding > 0, padding <= count - headerLength else { throw .badPadding }
        }

        let b1 = bytes[1]
        return RTPHeader(
            hasPadding: hasPadding, hasExtension: hasExtension, csrcCount: csrcCount,
            marker: b1 & 0x80 != 0, payloadType: b1 & 0x7F,
            sequenceNumber: bytes.be16(2), timestamp: bytes.be32(4), ssrc: bytes.be32(8),
            headerLength: headerLength, payloadLength: count - headerLength - padding,
            paddingLength: padding, extensionProfile: profile, extensionOffset: extensionOffset,
            extensionLength: extensionLength)
    }

    /// Parses the header of the packet held in `bytes`.
    @inlinable
    public static func parse(_ bytes: [UInt8]) throws(RTPError) -> RTPHeader {
        try parse(bytes.span)
    }

    /// Parses the header of the packet in an unsafe buffer (the datagram as
    /// handed over by the socket or libsrtp). Offsets are relative to `bytes`.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RTPError) -> RTPHeader {
        try unsafe withByteSpan(bytes) { (span) throws(RTPError) -> RTPHeader in try parse(span) }
    }

    // MARK: Field access into the original buffer

    /// The `index`-th CSRC, or nil when out of range or `bytes` is not the
    /// buffer this header was parsed from (too short).
    @inlinable
    public func csrc(_ index: Int, in bytes: Span<UInt8>) -> UInt32? {
        guard index >= 0, index < csrcCount else { return nil }
        let offset = csrcOffset + 4 * index
        guard offset + 4 <= bytes.count else { return nil }
        return bytes.be32(offset)
    }

    /// All CSRCs (allocates; meant for mixers and tests, not the forward path).
    public func csrcs(in bytes: [UInt8]) -> [UInt32] {
        (0..<csrcCount).compactMap { csrc($0, in: bytes.span) }
    }

    /// The payload range within the buffer the header was parsed from.
    @inlinable public var payloadRange: Range<Int> { headerLength..<(headerLength + payloadLength) }
}
