// Parsing of one media section: the m= line (RFC 8866 §5.14) and its
// attributes. Codec lines (rtpmap, fmtp, rtcp-fb) may come in any order, so
// they are collected by payload type and joined to the format list at the end.

struct MediaParser {
    var section: MediaDescription
    private var explicitDirection = false
    private var rtpmaps: [UInt8: Codec] = [:]
    private var fmtps: [UInt8: String] = [:]
    private var feedback: [UInt8: [String]] = [:]
    private var wildcardFeedback: [String] = []
    // Membership sets keep de-duplication linear: a hostile peer can send
    // tens of thousands of rtcp-fb lines within the size limit.
    private var feedbackSeen = Set<String>()

    /// m=<media> <port>[/<number of ports>] <proto> <fmt> ...
    init(mLine line: SDPLine) throws(SDPError) {
        let fields = line.value.sdpFields
        guard fields.count >= 4 else { throw .malformed(line.number, line.text) }
        let (portText, countText) = fields[1].sdpSplitOnce("/")
        guard let port = UInt16(portText) else { throw .invalid(line.number, "port", line.text) }
        if let countText, UInt16(countText) == nil { throw .invalid(line.number, "port count", line.text) }
        var section = MediaDescription(kind: MediaKind(token: String(fields[0])), port: port,
                                       proto: String(fields[2]))
        section.formats = fields.dropFirst(3).map(String.init)
        if section.isRTP {
            for format in section.formats where Self.payloadType(format) == nil {
                throw .invalid(line.number, "payload type '\(SDPError.quote(format))'", line.text)
            }
        }
        self.section = section
    }

    /// RTP payload types are 0...127 (RFC 3550 §5.1: 7 bits).
    static func payloadType(_ text: some StringProtocol) -> UInt8? {
        guard let value = UInt8(text), value < 128 else { return nil }
        return value
    }

    mutating func attribute(_ line: SDPLine) throws(SDPError) {
        let (rawName, rawValue) = line.value.sdpSplitOnce(":")
        let name = String(rawName)
        let value = rawValue.map { String($0.sdpTrimmed) }
        if let direction = Direction(rawValue: name), value == nil {
            section.direction = direction
            explicitDirection = true
            return
        }
        switch name {
        case "mid": section.mid = value ?? ""
        case "ice-ufrag": section.iceUfrag = value
        case "ice-pwd": section.icePwd = value
        case "ice-options": section.iceOptions = (value ?? "").sdpFields.map(String.init)
        case "fingerprint": section.fingerprints.append(try SessionParser.fingerprint(value, line))
        case "setup": section.setup = try SessionParser.setup(value, line)
        case "rtcp-mux": section.rtcpMux = true
        case "rtcp-rsize": section.rtcpRsize = true
        case "bundle-only": section.bundleOnly = true
        case "end-of-candidates": section.endOfCandidates = true
        case "msid": section.msid = value
        case "candidate": section.candidates.append(try Self.candidate(value, line))
        case "extmap": section.extmaps.append(try Self.extmap(value, line))
        case "ssrc": section.ssrcs.append(try Self.ssrc(value, line))
        case "ssrc-group": section.ssrcGroups.append(try Self.ssrcGroup(value, line))
        case "rtpmap" where section.isRTP: try rtpmap(value, line)
        case "fmtp" where section.isRTP: try fmtp(value, line)
        case "rtcp-fb" where section.isRTP: try rtcpFeedback(value, line)
        default: section.otherAttributes.append(Attribute(name: name, value: value))
        }
    }

    /// Joins codec lines to the format list, in m= line order.
    func build(sessionDirection: Direction?, sessionAddress: String?) -> MediaDescription {
        var result = section
        if !explicitDirection, let sessionDirection { result.direction = sessionDirection }
        if result.connectionAddress == nil { result.connectionAddress = sessionAddress }
        guard result.isRTP else { return result }
        var seen = Set<UInt8>()
        for format in result.formats {
            guard let pt = Self.payloadType(format), seen.insert(pt).inserted,
                  var codec = rtpmaps[pt] ?? Codec.staticPayload(pt) else { continue }
            codec.fmtp = fmtps[pt]
            var values = feedback[pt] ?? []
            let specific = Set(values)
            values += wildcardFeedback.filter { !specific.contains($0) }
            codec.feedback = values
            result.codecs.append(codec)
        }
        return result
    }

    // MARK: codec lines

    /// a=rtpmap:<pt> <encoding name>/<clock rate>[/<encoding parameters>]
    /// (RFC 8866 §6.6).
    private mutating func rtpmap(_ value: String?, _ line: SDPLine) throws(SDPError) {
        let (ptText, encoding) = (value ?? "").sdpSplitOnce(" ")
        guard let pt = Self.payloadType(ptText) else { throw .invalid(line.number, "rtpmap payload type", line.text) }
        let parts = (encoding ?? "").sdpTrimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, let rate = UInt32(parts[1]) else {
            throw .invalid(line.number, "rtpmap", line.text)
        }
        var channels: UInt8?
        if parts.count == 3 {
            guard let count = UInt8(parts[2]) else { throw .invalid(line.number, "rtpmap channels", line.text) }
            channels = count
        }
        rtpmaps[pt] = Codec(payloadType: pt, name: String(parts[0]), clockRate: rate, channels: channels)
    }

    /// a=fmtp:<pt> <format specific parameters> (RFC 8866 §6.15).
    private mutating func fmtp(_ value: String?, _ line: SDPLine) throws(SDPError) {
        let (ptText, parameters) = (value ?? "").sdpSplitOnce(" ")
        guard let pt = Self.payloadType(ptText) else { throw .invalid(line.number, "fmtp payload type", line.text) }
        let text = parameters?.sdpTrimmed ?? ""
        if !text.isEmpty, fmtps[pt] == nil { fmtps[pt] = String(text) }
    }

    /// a=rtcp-fb:<pt or *> <type> [<parameters>] (RFC 4585 §4.2).
    private mutating func rtcpFeedback(_ value: String?, _ line: SDPLine) throws(SDPError) {
        let fields = (value ?? "").sdpFields
        guard fields.count >= 2 else { throw .invalid(line.number, "rtcp-fb", line.text) }
        let text = fields.dropFirst().joined(separator: " ")
        if fields[0] == "*" {
            if feedbackSeen.insert("* " + text).inserted { wildcardFeedback.append(text) }
            return
        }
        guard let pt = Self.payloadType(fields[0]) else { throw .invalid(line.number, "rtcp-fb payload type", line.text) }
        if feedbackSeen.insert("\(pt) " + text).inserted { feedback[pt, default: []].append(text) }
    }

    // MARK: other structured attributes

    /// a=candidate:... kept as "candidate:..." once it has the mandatory
    /// fields (RFC 8839 §5.1).
    static func candidate(_ value: String?, _ line: SDPLine) throws(SDPError) -> String {
        let text = "candidate:" + (value ?? "")
        guard SDPCandidate(text) != nil else { throw .invalid(line.number, "candidate", line.text) }
        return text
    }

    /// a=extmap:<id>[/<direction>] <URI> [<extension attributes>] (RFC 8285 §8).
    /// Ids 1-14 use the one-byte form and 1-255 the two-byte form (§4.2, §4.3).
    static func extmap(_ value: String?, _ line: SDPLine) throws(SDPError) -> Extmap {
        let fields = (value ?? "").sdpFields
        guard fields.count >= 2 else { throw .invalid(line.number, "extmap", line.text) }
        let (idText, directionText) = fields[0].sdpSplitOnce("/")
        guard let id = UInt8(idText), id != 0 else { throw .invalid(line.number, "extmap id", line.text) }
        var direction: Direction?
        if let directionText {
            guard let parsed = Direction(rawValue: String(directionText)) else {
                throw .invalid(line.number, "extmap direction", line.text)
            }
            direction = parsed
        }
        let attributes = fields.count > 2 ? fields.dropFirst(2).joined(separator: " ") : nil
        return Extmap(id: id, direction: direction, uri: String(fields[1]), attributes: attributes)
    }

    /// a=ssrc:<ssrc-id> <attribute>[:<value>] (RFC 5576 §4.1).
    static func ssrc(_ value: String?, _ line: SDPLine) throws(SDPError) -> SSRCAttribute {
        let (idText, rest) = (value ?? "").sdpSplitOnce(" ")
        guard let ssrc = UInt32(idText) else { throw .invalid(line.number, "ssrc", line.text) }
        guard let rest, !rest.sdpTrimmed.isEmpty else { throw .invalid(line.number, "ssrc attribute", line.text) }
        let (name, attributeValue) = rest.sdpTrimmed.sdpSplitOnce(":")
        return SSRCAttribute(ssrc: ssrc, name: String(name), value: attributeValue.map(String.init))
    }

    /// a=ssrc-group:<semantics> <ssrc-id> ... (RFC 5576 §4.2).
    static func ssrcGroup(_ value: String?, _ line: SDPLine) throws(SDPError) -> SSRCGroup {
        let fields = (value ?? "").sdpFields
        guard let semantics = fields.first else { throw .invalid(line.number, "ssrc-group", line.text) }
        var ssrcs: [UInt32] = []
        for field in fields.dropFirst() {
            guard let ssrc = UInt32(field) else { throw .invalid(line.number, "ssrc-group ssrc", line.text) }
            ssrcs.append(ssrc)
        }
        return SSRCGroup(semantics: String(semantics), ssrcs: ssrcs)
    }
}
