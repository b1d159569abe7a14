// One RTP payload format of an m= line, assembled from a=rtpmap, a=fmtp and
// a=rtcp-fb (RFC 8866 §6.6 and §6.15, RFC 4585 §4.2).

/// A payload type of an m= line with its encoding, parameters and feedback.
public struct Codec: Sendable, Equatable, Hashable {
    public var payloadType: UInt8
    /// Encoding name as written ("opus", "OPUS", "VP8", "rtx"); compare with
    /// ``matches(name:)``, GStreamer writes names in upper case.
    public var name: String
    public var clockRate: UInt32
    /// Encoding parameters of the rtpmap (audio channels); nil when absent.
    public var channels: UInt8?
    /// Raw `a=fmtp` parameter string, e.g. `"minptime=10;useinbandfec=1"`.
    public var fmtp: String?
    /// `a=rtcp-fb` values for this payload type, wildcard (`*`) ones merged in,
    /// e.g. `["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"]`.
    public var feedback: [String]

    public init(payloadType: UInt8, name: String, clockRate: UInt32, channels: UInt8? = nil,
                fmtp: String? = nil, feedback: [String] = []) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
        self.feedback = feedback
    }

    /// The fmtp string parsed as `key=value` pairs separated by `;`
    /// (RFC 8866 §6.15 leaves the format to each codec; this is the common
    /// form). Keys are lower-cased; a parameter without `=` maps to "".
    /// When a key repeats, the first occurrence wins.
    public var fmtpParameters: [String: String] {
        guard let fmtp else { return [:] }
        var result: [String: String] = [:]
        for part in fmtp.split(separator: ";") {
            let (key, value) = part.sdpSplitOnce("=")
            let name = String(key.sdpTrimmed).lowercased()
            if name.isEmpty || result[name] != nil { continue }
            result[name] = value.map { String($0.sdpTrimmed) } ?? ""
        }
        return result
    }

    /// The associated payload type of an RTX format (RFC 4588 §8.6, `apt=`).
    public var apt: UInt8? {
        guard let text = fmtpParameters["apt"] else { return nil }
        return UInt8(text)
    }

    /// True for retransmission formats (RFC 4588).
    public var isRTX: Bool { matches(name: "rtx") }

    /// True for formats that protect or decorate another one rather than
    /// carry media themselves: rtx, red, ulpfec, flexfec, comfort noise and
    /// DTMF. Negotiation never picks these as the primary codec.
    public var isAuxiliary: Bool {
        let lower = name.lowercased()
        return ["rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event"].contains(lower)
    }

    /// Case-insensitive comparison of the encoding name.
    public func matches(name other: String) -> Bool { name.sdpEqualsIgnoringCase(other) }

    /// Whether the codec lists `value` among its feedback (case-insensitive,
    /// internal spaces normalized).
    public func hasFeedback(_ value: String) -> Bool {
        let wanted = Codec.normalizedFeedback(value)
        return feedback.contains { Codec.normalizedFeedback($0) == wanted }
    }

    static func normalizedFeedback(_ value: String) -> String {
        value.sdpFields.joined(separator: " ").lowercased()
    }

    /// Static payload types of RFC 3551 §6 (Table 4 and 5) that a peer may
    /// list on an m= line without an rtpmap. Only the ones still met in
    /// practice with WebRTC peers.
    public static func staticPayload(_ payloadType: UInt8) -> Codec? {
        switch payloadType {
        case 0: return Codec(payloadType: 0, name: "PCMU", clockRate: 8000)
        case 3: return Codec(payloadType: 3, name: "GSM", clockRate: 8000)
        case 4: return Codec(payloadType: 4, name: "G723", clockRate: 8000)
        case 8: return Codec(payloadType: 8, name: "PCMA", clockRate: 8000)
        case 9: return Codec(payloadType: 9, name: "G722", clockRate: 8000)
        case 13: return Codec(payloadType: 13, name: "CN", clockRate: 8000)
        case 18: return Codec(payloadType: 18, name: "G729", clockRate: 8000)
        case 26: return Codec(payloadType: 26, name: "JPEG", clockRate: 90000)
        case 31: return Codec(payloadType: 31, name: "H261", clockRate: 90000)
        case 34: return Codec(payloadType: 34, name: "H263", clockRate: 90000)
        default: return nil
        }
    }

    /// The static payload type for an encoding, if RFC 3551 assigns one
    /// (used when we offer PCMU/PCMA/G722: they keep their static numbers).
    static func staticPayloadType(name: String, clockRate: UInt32) -> UInt8? {
        for pt: UInt8 in [0, 3, 4, 8, 9, 13, 18, 26, 31, 34] {
            if let codec = staticPayload(pt), codec.matches(name: name), codec.clockRate == clockRate {
                return pt
            }
        }
        return nil
    }
}
