/// What a media session does to every RTP/RTCP packet between its packet
/// path and the wire: SRTP for WebRTC (DTLS-SRTP keys), nothing for plain
/// RTP. All four work in place and return the new length, or nil to drop.
/// Class-bound so the packet path calls it through one witness table,
/// without copies or allocation.
public protocol PacketProtection: AnyObject {
    func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int?
    func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int?
    func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer) -> Int?
    func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer) -> Int?
}

extension SRTPSession: PacketProtection {}

/// Plain RTP (RFC 3550 without SRTP): packets go out and come in as they are.
public final class NoProtection: PacketProtection {
    public init() {}
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int? { length <= buffer.count ? length : nil }
    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int? { length <= buffer.count ? length : nil }
    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer) -> Int? { buffer.count }
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer) -> Int? { buffer.count }
}
