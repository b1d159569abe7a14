// Opus TOC byte: what the first byte of every Opus packet says about it.
//
// RFC 6716 §3.1, https://www.rfc-editor.org/rfc/rfc6716#section-3.1
// (RTP carries one Opus packet per RTP payload, RFC 7587 §4.2.)
//
//  0 1 2 3 4 5 6 7
// +-+-+-+-+-+-+-+-+
// | config  |s| c |
// +-+-+-+-+-+-+-+-+
//
// config (0...31) selects mode, bandwidth and frame duration (Table 2);
// s is the stereo flag; c the frame count code: 0 one frame, 1 two equal
// frames, 2 two frames of different sizes, 3 an arbitrary number given in
// the next byte (RFC 6716 §3.2.5):
//
//  0 1 2 3 4 5 6 7
// +-+-+-+-+-+-+-+-+
// |v|p|     M     |   M: frame count (1...48)
// +-+-+-+-+-+-+-+-+
//
// The server needs this for durations (timestamps of generated audio,
// mixing and recording) and to tell stereo from mono without a decoder.

public struct OpusTOC: Sendable, Equatable, Hashable {
    public enum Mode: Sendable, Equatable, Hashable { case silk, hybrid, celt }

    public enum Bandwidth: Sendable, Equatable, Hashable {
        case narrowband, mediumband, wideband, superWideband, fullband
    }

    public let byte: UInt8

    public init(_ byte: UInt8) { self.byte = byte }

    /// The TOC of a packet, nil for an empty payload.
    public init?(payload: [UInt8]) {
        guard let first = payload.first else { return nil }
        self.init(first)
    }

    public var configuration: UInt8 { byte >> 3 }
    public var isStereo: Bool { byte & 0x04 != 0 }
    public var frameCountCode: UInt8 { byte & 0x03 }

    public var mode: Mode {
        switch configuration {
        case 0...11: .silk
        case 12...15: .hybrid
        default: .celt
        }
    }

    public var bandwidth: Bandwidth {
        switch configuration {
        case 0...3, 16...19: .narrowband
        case 4...7: .mediumband
        case 8...11, 20...23: .wideband
        case 12...13, 24...27: .superWideband
        default: .fullband
        }
    }

    /// Duration of one frame in microseconds (Table 2 of RFC 6716 §3.1).
    public var frameDurationMicroseconds: Int {
        let index = Int(configuration & 0x03)
        switch mode {
        case .silk: return [10_000, 20_000, 40_000, 60_000][index]
        case .hybrid: return [10_000, 20_000][index & 0x01]
        case .celt: return [2_500, 5_000, 10_000, 20_000][index]
        }
    }

    /// Number of frames in `payload` (which starts with this TOC), nil when
    /// code 3 lacks its count byte or announces 0 frames.
    public func frameCount(in payload: [UInt8]) -> Int? {
        switch frameCountCode {
        case 0: return 1
        case 1, 2: return 2
        default:
            guard payload.count >= 2 else { return nil }
            let count = Int(payload[1] & 0x3F)
            return count == 0 ? nil : count
        }
    }

    /// Duration of the whole packet in microseconds. RFC 6716 §3.2.5 caps a
    /// packet at 120 ms; longer claims are invalid and give nil.
    public func packetDurationMicroseconds(in payload: [UInt8]) -> Int? {
        guard let frames = frameCount(in: payload) else { return nil }
        let duration = frames * frameDurationMicroseconds
        return duration <= 120_000 ? duration : nil
    }

    /// Packet duration in RTP timestamp units; Opus over RTP always uses a
    /// 48 kHz clock (RFC 7587 §4.1), whatever the coded bandwidth.
    public func packetDurationSamples(in payload: [UInt8]) -> Int? {
        packetDurationMicroseconds(in: payload).map { $0 * 48 / 1000 }
    }
}

/// Entry points on a whole Opus RTP payload (a thin layer over `OpusTOC`),
/// for callers that hold the payload rather than its first byte.
public enum OpusPayload {
    /// The TOC of the payload, nil when it is empty (RFC 6716 §3.4 R1: a
    /// packet has at least one byte).
    public static func toc(_ payload: [UInt8]) -> OpusTOC? { OpusTOC(payload: payload) }

    /// Whether the packet is coded as stereo; nil for an empty payload.
    public static func isStereo(_ payload: [UInt8]) -> Bool? { toc(payload)?.isStereo }

    /// Duration of one frame in microseconds; nil for an empty payload.
    public static func frameDurationMicroseconds(_ payload: [UInt8]) -> Int? {
        toc(payload)?.frameDurationMicroseconds
    }

    /// Duration of the packet in microseconds; nil when it cannot be told.
    public static func packetDurationMicroseconds(_ payload: [UInt8]) -> Int? {
        toc(payload)?.packetDurationMicroseconds(in: payload)
    }

    /// Duration of the packet in 48 kHz RTP timestamp units.
    public static func packetDurationSamples(_ payload: [UInt8]) -> Int? {
        toc(payload)?.packetDurationSamples(in: payload)
    }
}
