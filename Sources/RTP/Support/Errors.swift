// Error vocabularies of the RTP and RTCP parsers.
//
// Both enums are deliberately small: the media path only needs to know
// whether to drop a packet, while tests and logs want to know *why*. Parsers
// use typed throws so that a drop costs no existential box.

/// Why an RTP packet (or a payload inside one) was rejected.
public enum RTPError: Error, Sendable, Equatable, Hashable {
    /// The buffer ends before the fixed header, the CSRC list, the header
    /// extension or a payload descriptor that the packet announces.
    case truncated
    /// The version field is not 2 (RFC 3550 §5.1).
    case badVersion(UInt8)
    /// The P bit is set but the padding count is 0 or larger than the payload
    /// (RFC 3550 §5.1: the count includes itself, so it is at least 1).
    case badPadding
    /// A header extension element cannot be encoded or decoded
    /// (RFC 8285: id or length out of range for the chosen form).
    case badExtension
    /// The payload is too short for what it must carry (an RTX packet
    /// without its original sequence number, RFC 4588 §4).
    case payloadTooShort
    /// A field passed to a builder or rewrite helper does not fit on the wire
    /// (payload type above 127, more than 15 CSRCs, ...).
    case invalidField
}

/// Why an RTCP packet or compound packet was rejected.
public enum RTCPError: Error, Sendable, Equatable, Hashable {
    /// The buffer is shorter than a common header, or than the length the
    /// header announces (RFC 3550 §6.4.1).
    case truncated
    /// The version field is not 2.
    case badVersion(UInt8)
    /// The P bit is set but the padding count is 0 or
    /// larger than the packet body.
    case badPadding
    /// A message parser was handed a packet of another type or format.
    case wrongType(packetType: UInt8, format: UInt8)
    /// The fields of the packet contradict its length or each other (report
    /// count too large for the packet, missing "REMB" identifier, reserved
    /// transport-cc status symbol, unterminated SDES chunk, ...).
    case malformed
    /// A value handed to a builder cannot be represented on the wire.
    case valueOutOfRange
}
