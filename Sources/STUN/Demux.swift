// First-byte demultiplexing of everything that arrives on one ICE component.
//
// RFC 7983 §7 (updating RFC 5764 §5.1.2): with BUNDLE and rtcp-mux, STUN,
// DTLS, RTP, RTCP (and, in theory, ZRTP and TURN ChannelData) share a single
// 5-tuple. The first byte of each protocol falls into disjoint ranges:
//
//                  +----------------+
//                  |        [0..3] -+--> forward to STUN
//                  |                |
//                  |      [16..19] -+--> forward to ZRTP
//                  |                |
//      packet -->  |      [20..63] -+--> forward to DTLS
//                  |                |
//                  |      [64..79] -+--> forward to TURN Channel
//                  |                |
//                  |    [128..191] -+--> forward to RTP/RTCP
//                  +----------------+
//
// RTP and RTCP both start with version 2 (0b10xxxxxx). RFC 5761 §4 tells them
// apart by the second byte: RTCP packet types 192..223 occupy what would be
// "marker bit + payload type 64..95" in RTP, which is why those payload types
// must not be used for RTP when RTCP is multiplexed.
//
// https://www.rfc-editor.org/rfc/rfc7983#section-7
// https://www.rfc-editor.org/rfc/rfc5761#section-4

/// What a datagram received on the shared ICE component most likely is.
public enum PacketClass: Sendable, Equatable {
    case stun, dtls, rtp, rtcp, zrtp, turnChannel, unknown
}

public enum Demux {
    /// Smallest well-formed datagram of each kind. Anything shorter cannot be
    /// parsed by the protocol it claims to be, so it is `unknown` and can be
    /// dropped without waking the heavier parsers (or libnice/OpenSSL/libsrtp).
    public enum MinimumLength {
        /// STUN header (RFC 8489 §5).
        public static let stun = 20
        /// ZRTP packets carry a 12-byte RTP-like header (RFC 6189 §5).
        public static let zrtp = 12
        /// DTLS record header (RFC 6347 §4.1).
        public static let dtls = 13
        /// TURN ChannelData header (RFC 8656 §12.4).
        public static let turnChannel = 4
        /// RTP fixed header (RFC 3550 §5.1).
        public static let rtp = 12
        /// An empty receiver report: common header plus sender SSRC (RFC 3550 §6.4.2).
        public static let rtcp = 8
    }

    /// Classifies a datagram by its first two bytes and its length.
    @inlinable
    public static func classify(_ bytes: UnsafeRawBufferPointer) -> PacketClass {
        let count = bytes.count
        if count == 0 { return .unknown }
        let first = unsafe bytes[0]
        let second: UInt8 = count > 1 ? unsafe bytes[1] : 0
        return classify(first: first, second: second, count: count)
    }

    /// Classifies a datagram held in an array.
    @inlinable
    public static func classify(_ bytes: [UInt8]) -> PacketClass {
        if bytes.isEmpty { return .unknown }
        return classify(first: bytes[0], second: bytes.count > 1 ? bytes[1] : 0, count: bytes.count)
    }

    /// Classifies a datagram seen through a span.
    @inlinable
    public static func classify(_ bytes: Span<UInt8>) -> PacketClass {
        if bytes.isEmpty { return .unknown }
        return classify(first: bytes[0], second: bytes.count > 1 ? bytes[1] : 0, count: bytes.count)
    }

    /// The decision itself, on copied scalars, so every entry point shares it.
    @inlinable
    public static func classify(first: UInt8, second: UInt8, count: Int) -> PacketClass {
        switch first {
        case 0...3:
            return count >= MinimumLength.stun ? .stun : .unknown
        case 16...19:
            return count >= MinimumLength.zrtp ? .zrtp : .unknown
        case 20...63:
            return count >= MinimumLength.dtls ? .dtls : .unknown
        case 64...79:
            return count >= MinimumLength.turnChannel ? .turnChannel : .unknown
        case 128...191:
            // RFC 5761 §4: the second byte is the RTCP packet type, or the RTP
            // marker bit followed by the payload type.
            if (192...223).contains(second) {
                return count >= MinimumLength.rtcp ? .rtcp : .unknown
            }
            return count >= MinimumLength.rtp ? .rtp : .unknown
        default:
            return .unknown
        }
    }

    /// The STUN magic cookie (RFC 8489 §5). A packet in the STUN byte range
    /// that lacks it is a classic RFC 3489 message, which WebRTC never sends.
    public static let stunMagicCookie: UInt32 = 0x2112_A442

    /// True when `bytes` is in the STUN range and carries the magic cookie at
    /// bytes 4..7: a cheap second opinion before handing it to the ICE agent.
    @inlinable
    public static func hasSTUNMagicCookie(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= MinimumLength.stun, bytes[0] < 4 else { return false }
        let cookie = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
        return cookie == stunMagicCookie
    }
}
