// In-place rewriting of RTP header fields.
//
// RFC 3550 §5.1, https://www.rfc-editor.org/rfc/rfc3550#section-5.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|X|  CC   |M|     PT      |       sequence number         |  bytes 0-3
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                           timestamp                           |  bytes 4-7
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           synchronization source (SSRC) identifier            |  bytes 8-11
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// An SFU forwards each packet with a new SSRC, sequence number, timestamp
// and (when the receiver negotiated another number) payload type, all at
// fixed offsets, so rewriting never moves bytes and never allocates. The
// helpers re-check only what they touch (12 bytes, version 2): the caller
// usually parsed the packet already, but a stale or foreign buffer must not
// trap or be silently corrupted.

public enum RTPRewrite {
    // MARK: Span core

    @inlinable
    static func check(_ packet: borrowing MutableSpan<UInt8>) throws(RTPError) {
        guard packet.count >= RTPHeader.fixedHeaderLength else { throw .truncated }
        let version = packet[0] &>> 6
        guard version == 2 else { throw .badVersion(version) }
    }

    @inlinable
    public static func setSSRC(_ ssrc: UInt32, in packet: inout MutableSpan<UInt8>) throws(RTPError) {
        try check(packet)
        packet.put32(ssrc, at: 8)
    }

    @inlinable
    public static func setSequenceNumber(_ sequenceNumber: UInt16, in packet: inout MutableSpan<UInt8>)
        throws(RTPError)
    {
        try check(packet)
        packet.put16(sequenceNumber, at: 2)
    }

    @inlinable
    public static func setTimestamp(_ timestamp: UInt32, in packet: inout MutableSpan<UInt8>) throws(RTPError) {
        try check(packet)
        packet.put32(timestamp, at: 4)
    }

    /// Replaces the 7-bit payload type, keeping the marker bit.
    @inlinable
    public static func setPayloadType(_ payloadType: UInt8, in packet: inout MutableSpan<UInt8>)
        throws(RTPError)
    {
        guard payloadType < 128 else { throw .invalidField }
        try check(packet)
        packet[1] = packet[1] & 0x80 | payloadType
    }

    @inlinable
    public static func setMarker(_ marker: Bool, in packet: inout MutableSpan<UInt8>) throws(RTPError) {
        try check(packet)
        packet[1] = marker ? packet[1] | 0x80 : packet[1] & 0x7F
    }

    /// Overwrites the first `width` bytes (1...8) of extension element `id`
    /// with `value` in network order: used to renumber transport-wide
    /// sequence numbers per outgoing transport. Returns false (and leaves the
    /// packet unchanged) when the element is absent or shorter than `width`.
    @inlinable
    public static func setExtensionValue(
        _ value: UInt64, id: UInt8, width: Int, header: RTPHeader, in packet: inout MutableSpan<UInt8>
    ) -> Bool {
        guard (1...8).contains(width),
            let (offset, length) = header.extensionElement(id: id, in: packet.span), length >= width
        else { return false }
        for i in 0..<width {
            packet[offset + i] = UInt8(truncatingIfNeeded: value &>> UInt64(8 * (width - 1 - i)))
        }
        return true
    }

    // MARK: Arrays

    @inlinable
    public static func setSSRC(_ ssrc: UInt32, in packet: inout [UInt8]) throws(RTPError) {
        var span = packet.mutableSpan
        try setSSRC(ssrc, in: &span)
    }

    @inlinable
    public static func setSequenceNumber(_ sequenceNumber: UInt16, in packet: inout [UInt8]) throws(RTPError) {
        var span = packet.mutableSpan
        try setSequenceNumber(sequenceNumber, in: &span)
    }

    @inlinable
    public static func setTimestamp(_ timestamp: UInt32, in packet: inout [UInt8]) throws(RTPError) {
        var span = packet.mutableSpan
        try setTimestamp(timestamp, in: &span)
    }

    @inlinable
    public static func setPayloadType(_ payloadType: UInt8, in packet: inout [UInt8]) throws(RTPError) {
        var span = packet.mutableSpan
        try setPayloadType(payloadType, in: &span)
    }

    @inlinable
    public static func setMarker(_ marker: Bool, in packet: inout [UInt8]) throws(RTPError) {
        var span = packet.mutableSpan
        try setMarker(marker, in: &span)
    }

    @inlinable
    public static func setExtensionValue(
        _ value: UInt64, id: UInt8, width: Int, header: RTPHeader, in packet: inout [UInt8]
    ) -> Bool {
        var span = packet.mutableSpan
        return setExtensionValue(value, id: id, width: width, header: header, in: &span)
    }

    // MARK: Unsafe buffers (what libsrtp and the socket layer hand around)

    @inlinable
    public static func setSSRC(_ ssrc: UInt32, in packet: UnsafeMutableRawBufferPointer) throws(RTPError) {
        var span = unsafe packet.assumingMemoryBound(to: UInt8.self).mutableSpan
        try setSSRC(ssrc, in: &span)
    }

    @inlinable
    public static func setSequenceNumber(_ sequenceNumber: UInt16, in packet: UnsafeMutableRawBufferPointer)
        throws(RTPError)
    {
        var span = unsafe packet.assumingMemoryBound(to: UInt8.self).mutableSpan
        try setSequenceNumber(sequenceNumber, in: &span)
    }

    @inlinable
    public static func setTimestamp(_ timestamp: UInt32, in packet: UnsafeMutableRawBufferPointer)
        throws(RTPError)
    {
        var span = unsafe packet.assumingMemoryBound(to: UInt8.self).mutableSpan
        try setTimestamp(timestamp, in: &span)
    }

    @inlinable
    public static func setPayloadType(_ payloadType: UInt8, in packet: UnsafeMutableRawBufferPointer)
        throws(RTPError)
    {
        var span = unsafe packet.assumingMemoryBound(to: UInt8.self).mutableSpan
        try setPayloadType(payloadType, in: &span)
    }

    @inlinable
    public static func setMarker(_ marker: Bool, in packet: UnsafeMutableRawBufferPointer) throws(RTPError) {
        var span = unsafe packet.assumingMemoryBound(to: UInt8.self).mutableSpan
        try setMarker(marker, in: &span)
    }

    @inlinable
    public static func setExtensionValue(
        _ value: UInt64, id: UInt8, width: Int, header: RTPHeader, in packet: UnsafeMutableRawBufferPointer
    ) -> Bool {
        var span = unsafe packet.assumingMemoryBound(to: UInt8.self).mutableSpan
        return setExtensionValue(value, id: id, width: width, header: header, in: &span)
    }

    // MARK: All at once

    /// Rewrites the four fields an SFU changes on every forwarded packet, with
    /// a single check. Nil arguments leave the field as it is.
    @inlinable
    public static func rewrite(
        _ packet: inout [UInt8], ssrc: UInt32? = nil, sequenceNumber: UInt16? = nil,
        timestamp: UInt32? = nil, payloadType: UInt8? = nil
    ) throws(RTPError) {
        if let payloadType, payloadType >= 128 { throw .invalidField }
        var span = packet.mutableSpan
        try check(span)
        if let ssrc { span.put32(ssrc, at: 8) }
        if let sequenceNumber { span.put16(sequenceNumber, at: 2) }
        if let timestamp { span.put32(timestamp, at: 4) }
        if let payloadType { span[1] = span[1] & 0x80 | payloadType }
    }
}
