// Client-to-mixer audio level header extension
// (urn:ietf:params:rtp-hdrext:ssrc-audio-level).
//
// RFC 6464 §3, https://www.rfc-editor.org/rfc/rfc6464#section-3
//
// One-byte form (RFC 8285):
//
//  0                   1
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  ID   | len=0 |V| level       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Two-byte form:
//
//  0                   1                   2
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      ID       |     len=1     |V|    level    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// V: the sender's voice activity detector says this packet has speech.
// level: audio level in -dBov, 0 (loudest) ... 127 (silence). Reading it
// lets an SFU pick active speakers without decoding any audio.

public struct AudioLevel: Sendable, Equatable, Hashable {
    public var voiceActivity: Bool
    /// Level in -dBov: 0 is the loudest possible, 127 silence.
    public var level: UInt8

    public init(voiceActivity: Bool, level: UInt8) {
        self.voiceActivity = voiceActivity
        self.level = min(level, 127)
    }

    /// Decodes the extension's data byte.
    public init(byte: UInt8) {
        self.init(voiceActivity: byte & 0x80 != 0, level: byte & 0x7F)
    }

    /// The extension's data byte.
    public var byte: UInt8 { (voiceActivity ? 0x80 : 0) | min(level, 127) }

    /// Level in dBov (0 ... -127).
    public var dBov: Int { -Int(level) }

    /// Reads the audio level element `id` of a parsed packet; nil when the
    /// packet does not carry it (or it is empty).
    public static func read(id: UInt8, header: RTPHeader, in bytes: Span<UInt8>) -> AudioLevel? {
        guard let (offset, length) = header.extensionElement(id: id, in: bytes), length >= 1 else { return nil }
        return AudioLevel(byte: bytes[offset])
    }

    public static func read(id: UInt8, header: RTPHeader, in bytes: [UInt8]) -> AudioLevel? {
        read(id: id, header: header, in: bytes.span)
    }

    public static func read(id: UInt8, header: RTPHeader, in bytes: UnsafeRawBufferPointer) -> AudioLevel? {
        unsafe withByteSpan(bytes) { read(id: id, header: header, in: $0) }
    }

    /// The extension element to put on a packet built with `RTPPacketBuilder`.
    public func element(id: UInt8) -> RTPExtensionElement {
        RTPExtensionElement(id: id, data: [byte])
    }
}
