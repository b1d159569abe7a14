// Matching a peer's m-line against our capabilities: primary codec, its RTX,
// the common RTCP feedback and header extensions. Shared by answering an
// offer and processing an answer.

extension CodecCapability {
    /// Whether a peer's codec is this capability: same name (ASCII
    /// case-insensitive, GStreamer writes "OPUS"/"VP8"), clock rate, channel
    /// count when we require one, and the format parameters that select
    /// incompatible bitstreams (H.264 packetization-mode and profile, RFC 6184
    /// §8.1; VP9 profile-id).
    public func accepts(_ codec: Codec) -> Bool {
        guard codec.matches(name: name), codec.clockRate == clockRate else { return false }
        if let channels, (codec.channels ?? 1) != channels { return false }
        let ours = Codec(payloadType: 0, name: name, clockRate: clockRate, fmtp: fmtp).fmtpParameters
        let theirs = codec.fmtpParameters
        switch name.lowercased() {
        case "h264":
            guard (theirs["packetization-mode"] ?? "0") == (ours["packetization-mode"] ?? "0") else { return false }
            // profile_idc and constraint flags: the first four hex digits
            // (RFC 6184 §8.1); the level may differ.
            if let wanted = ours["profile-level-id"] {
                let offered = theirs["profile-level-id"] ?? "42000a"
                return offered.lowercased().prefix(4) == wanted.lowercased().prefix(4)
            }
            return true
        case "vp9":
            return (theirs["profile-id"] ?? "0") == (ours["profile-id"] ?? "0")
        default:
            return true
        }
    }
}

/// What two sides agree on for one m-line.
struct MediaSelection {
    /// The peer's codec (its payload type, name and fmtp) with `feedback`
    /// cut to what both support.
    var codec: Codec
    var capability: CodecCapability
    /// The peer's RTX codec for `codec`, when both do RTX.
    var rtx: Codec?
    /// Common header extensions with the peer's ids.
    var extensions: [Extmap]

    /// Picks the FIRST codec in the peer's order that we support (RFC 3264
    /// §6.1: the offerer's order is its preference), skipping auxiliary
    /// formats. `allowed` restricts payload types (answer processing: only
    /// what we offered).
    init?(remote: MediaDescription, capabilities: LocalMediaCapabilities, allowed: ((Codec) -> Bool)? = nil) {
        let supported = capabilities.codecs(for: remote.kind)
        var chosen: (Codec, CodecCapability)?
        for codec in remote.codecs where !codec.isAuxiliary && (allowed?(codec) ?? true) {
            if let capability = supported.first(where: { $0.accepts(codec) }) {
                chosen = (codec, capability)
                break
            }
        }
        guard let chosen else { return nil }
        let (codec, capability) = chosen
        self.capability = capability
        self.extensions = Self.commonExtensions(remote.extmaps, capabilities.headerExtensions)
        if capability.rtx {
            rtx = remote.codecs.first { candidate in
                candidate.isRTX && candidate.apt == codec.payloadType && candidate.clockRate == codec.clockRate
                    && (allowed?(candidate) ?? true)
            }
        }
        var agreed = codec
        let hasTransportCC = extensions.contains { $0.uri == HeaderExtensionURI.transportWideCC }
        agreed.feedback = codec.feedback.filter { value in
            let normalized = Codec.normalizedFeedback(value)
            // transport-cc feedback needs the transport-wide sequence number
            // extension (draft-holmer-rmcat-transport-wide-cc-extensions §4).
            if normalized == "transport-cc" && !hasTransportCC { return false }
            return capability.feedback.contains { Codec.normalizedFeedback($0) == normalized }
        }
        self.codec = agreed
    }

    /// The peer's extmaps whose URI we accept, first mapping per id and per
    /// URI only (duplicates would be ambiguous, RFC 8285 §6).
    static func commonExtensions(_ remote: [Extmap], _ accepted: [String]) -> [Extmap] {
        var result: [Extmap] = []
        for extmap in remote where accepted.contains(extmap.uri) {
            if result.contains(where: { $0.id == extmap.id || $0.uri == extmap.uri }) { continue }
            result.append(extmap)
        }
        return result
    }

    /// The result record for an accepted m-line. `remote` supplies the
    /// peer's SSRCs.
    func negotiated(index: Int, remote: MediaDescription, direction: Direction) -> NegotiatedMedia {
        var extensionIDs: [String: UInt8] = [:]
        for extmap in extensions { extensionIDs[extmap.uri] = extmap.id }
        var result = NegotiatedMedia(
            mid: remote.mid ?? "", kind: remote.kind, index: index, accepted: true, direction: direction,
            codec: codec, rtxPayloadType: rtx?.payloadType, extensions: extensionIDs,
            remoteSSRCs: remote.mediaSSRCs, remoteRTXSSRC: remote.rtxSSRC,
            nack: codec.hasFeedback("nack"), pli: codec.hasFeedback("nack pli"),
            fir: codec.hasFeedback("ccm fir"), remb: codec.hasFeedback("goog-remb"),
            transportCC: codec.hasFeedback("transport-cc"))
        if remote.kind == .video, direction.receives {
            if extensionIDs[HeaderExtensionURI.rtpStreamID] != nil { result.simulcastRIDs = remote.offeredSimulcastRIDs }
            if result.simulcastRIDs.isEmpty { result.simulcastSSRCs = remote.simulcastSSRCGroup }
        }
        for group in remote.ssrcGroups where group.semantics == "FID" && group.ssrcs.count == 2 {
            result.remoteRTXPairs[group.ssrcs[1]] = group.ssrcs[0]
        }
        return result
    }
}

extension NegotiatedMedia {
    /// The record for a rejected m-line.
    static func rejected(index: Int, section: MediaDescription) -> NegotiatedMedia {
        NegotiatedMedia(mid: section.mid ?? "", kind: section.kind, index: index, accepted: false,
                        direction: .inactive)
    }
}

extension MediaDescription {
    /// DTLS-SRTP RTP profiles (RFC 5764 §8, RFC 7850): "UDP/TLS/RTP/SAVPF",
    /// "TCP/DTLS/RTP/SAVPF", and the legacy "RTP/SAVPF" that old browsers
    /// still combine with a=fingerprint.
    var isSecureRTP: Bool {
        let upper = proto.uppercased()
        return upper.hasSuffix("RTP/SAVPF") || upper.hasSuffix("RTP/SAVP")
    }

    /// A short description of the offered codecs for error messages.
    var codecSummary: String {
        let names = codecs.filter { !$0.isAuxiliary }.map { codec in
            "\(codec.name)/\(codec.clockRate)" + (codec.channels.map { "/\($0)" } ?? "")
        }
        return "\(kind.rawValue): " + (names.isEmpty ? "none" : names.joined(separator: ", "))
    }
}
