import COpus

/// A libopus call failed: its error code and libopus's own message.
public struct OpusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The negative `OPUS_*` error code.
    public let code: Int32
    public let message: String

    init(code: Int32) {
        self.code = code
        self.message = opus_strerror(code).map { String(cString: $0) } ?? "opus error \(code)"
    }

    public var description: String { "Opus error \(code): \(message)" }

    /// Throws for a negative return value of a libopus call.
    @inline(__always)
    static func check(_ result: Int32) throws(OpusError) {
        if result < 0 { throw OpusError(code: result) }
    }
}

/// Opus at 48 kHz, the only rate WebRTC uses (RFC 7587 §4.1).
public enum Opus {
    public static let sampleRate = 48_000
    /// Samples per channel in one 20 ms frame at 48 kHz.
    public static let samplesPerFrame = 960
    /// Largest Opus packet (RFC 6716 §3.4 R2: 1275 bytes per frame, up to 3 frames for 60 ms);
    /// 1500 covers any single-frame packet with room to spare.
    public static let maxPacketBytes = 1_500
}
