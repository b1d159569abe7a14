// Text -> SessionDescription (RFC 8866 §5). The parser is lenient where real
// peers deviate harmlessly (bare \n line ends, stray spaces, missing t=) and
// strict where a wrong value would mislead negotiation (ports, payload types,
// rtpmap, ssrc numbers): those throw an SDPError naming line and field.

/// One `<type>=<value>` line with its 1-based line number.
struct SDPLine {
    let number: Int
    let type: UInt8          // ASCII letter
    let value: Substring     // after "x=", trailing blanks removed
    let text: Substring      // the whole line, for error messages

    var typeLetter: Character { Character(Unicode.Scalar(type)) }
}

extension SessionDescription {
    /// Parses a session description. Accepts `\r\n` or `\n` line ends and
    /// blank lines; throws ``SDPError`` for anything it cannot make sense of.
    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        let lines = try splitLines(text)
        var parser = SessionParser()
        for line in lines { try parser.consume(line) }
        return try parser.finish()
    }

    /// Splits on LF bytes (a `\r\n` pair is a single Character in Swift, so
    /// splitting Characters on "\n" would miss it), drops a trailing CR, and
    /// checks the `<letter>=` shape of every non-blank line.
    static func splitLines(_ text: String) throws(SDPError) -> [SDPLine] {
        let size = text.utf8.count
        if size > maxInputBytes { throw .tooLarge(bytes: size, limit: maxInputBytes) }
        var result: [SDPLine] = []
        var number = 0
        for raw in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var bytes = raw
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            let line = Substring(bytes)
            if line.sdpTrimmed.isEmpty { continue }
            var iterator = line.utf8.makeIterator()
            guard let type = iterator.next(), let equals = iterator.next(),
                  (0x61...0x7A).contains(type), equals == 0x3D /* = */ else {
                throw .malformed(number, line)
            }
            let value = Substring(line.utf8.dropFirst(2))
            result.append(SDPLine(number: number, type: type, value: value.sdpTrimmed, text: line))
        }
        return result
    }
}

/// Session-level state machine: v= first, then session lines, then media
/// sections each opened by an m= line (RFC 8866 §5 ordering).
struct SessionParser {
    private var session = SessionDescription()
    private var sawVersion = false
    private var sawOrigin = false
    private var sessionDirection: Direction?
    private var current: MediaParser?
    private var finished: [MediaParser] = []

    mutating func consume(_ line: SDPLine) throws(SDPError) {
        if !sawVersion {
            guard line.typeLetter == "v" else { throw .missingField("v=0 as the first line") }
            guard line.value == "0" else { throw .invalid(line.number, "version", line.text) }
            sawVersion = true
            return
        }
        switch line.typeLetter {
        case "v":
            throw .malformed(line.number, line.text)
        case "m":
            if let current { finished.append(current) }
            if finished.count >= SessionDescription.maxMediaSections {
                throw .unsupported("more than \(SessionDescription.maxMediaSections) m= sections")
            }
            current = try MediaParser(mLine: line)
        case "i", "u", "e", "p", "t", "r", "z", "k":
            // Informational, timing and key lines carry nothing WebRTC uses;
            // we always write `t=0 0` ourselves (RFC 8829 §5.2.1).
            return
        case "o", "s":
            guard current == nil else { throw .malformed(line.number, line.text) }
            try sessionLine(line)
        case "c":
            let address = try Self.connectionAddress(line)
            if current != nil { current?.section.connectionAddress = address } else {
                session.connectionAddress = address
            }
        case "b":
            let bandwidth = try Self.bandwidthAS(line)
            if current != nil, let bandwidth { current?.section.bandwidthAS = bandwidth }
        case "a":
            if current != nil { try current?.attribute(line) } else { try sessionAttribute(line) }
        default:
            // RFC 8866 §5: a parser may reject a description with an unknown
            // type letter; silently ignoring it could hide a broken peer.
            throw .malformed(line.number, line.text)
        }
    }

    mutating func finish() throws(SDPError) -> SessionDescription {
        guard sawVersion else { throw .missingField("v= line (empty description)") }
        guard sawOrigin else { throw .missingField("o= line") }
        if let current { finished.append(current) }
        session.media = finished.map { $0.build(sessionDirection: sessionDirection,
                                                  sessionAddress: session.connectionAddress) }
        return session
    }

    /// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
    /// (RFC 8866 §5.2) and s=<session name> (§5.3).
    private mutating func sessionLine(_ line: SDPLine) throws(SDPError) {
        if line.typeLetter == "s" {
            session.sessionName = String(line.value)
            return
        }
        let fields = line.value.sdpFields
        guard fields.count == 6 else { throw .malformed(line.number, line.text) }
        guard let id = UInt64(fields[1]) else { throw .invalid(line.number, "session id", line.text) }
        guard let version = UInt64(fields[2]) else {
            throw .invalid(line.number, "session version", line.text)
        }
        session.originUsername = String(fields[0])
        session.sessionID = id
        session.sessionVersion = version
        session.originAddress = String(fields[5])
        sawOrigin = true
    }

    private mutating func sessionAttribute(_ line: SDPLine) throws(SDPError) {
        let (rawName, rawValue) = line.value.sdpSplitOnce(":")
        let name = String(rawName)
        let value = rawValue.map { String($0.sdpTrimmed) }
        switch name {
        case "group":
            let fields = (value ?? "").sdpFields
            if let semantics = fields.first, semantics == "BUNDLE" {
                session.bundleGroups.append(fields.dropFirst().map(String.init))
            } else {
                session.otherAttributes.append(Attribute(name: name, value: value))
            }
        case "ice-lite": session.iceLite = true
        case "ice-ufrag": session.iceUfrag = value
        case "ice-pwd": session.icePwd = value
        case "ice-options": session.iceOptions = (value ?? "").sdpFields.map(String.init)
        case "fingerprint": session.fingerprints.append(try Self.fingerprint(value, line))
        case "setup": session.setup = try Self.setup(value, line)
        default:
            // A session-level direction is the default of every m= section
            // without its own (RFC 8866 §6.7); it is also kept verbatim.
            if let direction = Direction(rawValue: name), value == nil { sessionDirection = direction }
            session.otherAttributes.append(Attribute(name: name, value: value))
        }
    }

    // MARK: field parsers shared with MediaParser

    /// c=<nettype> <addrtype> <connection-address> (RFC 8866 §5.7).
    static func connectionAddress(_ line: SDPLine) throws(SDPError) -> String {
        let fields = line.value.sdpFields
        guard fields.count == 3 else { throw .invalid(line.number, "connection data", line.text) }
        return String(fields[2])
    }

    /// b=<bwtype>:<bandwidth> (RFC 8866 §5.8). Only AS is modelled; other
    /// types (TIAS, CT, RR, RS) are checked for shape and dropped.
    static func bandwidthAS(_ line: SDPLine) throws(SDPError) -> UInt32? {
        let (type, amount) = line.value.sdpSplitOnce(":")
        guard let amount, let value = UInt32(amount.sdpTrimmed) else {
            throw .invalid(line.number, "bandwidth", line.text)
        }
        return type.uppercased() == "AS" ? value : nil
    }

    /// a=fingerprint:<hash-function> <fingerprint> (RFC 8122 §5).
    static func fingerprint(_ value: String?, _ line: SDPLine) throws(SDPError) -> Fingerprint {
        let fields = (value ?? "").sdpFields
        guard fields.count == 2 else { throw .invalid(line.number, "fingerprint", line.text) }
        return Fingerprint(algorithm: String(fields[0]), value: String(fields[1]))
    }

    /// a=setup:<role> (RFC 4145 §4).
    static func setup(_ value: String?, _ line: SDPLine) throws(SDPError) -> SetupRole {
        guard let value, let role = SetupRole(rawValue: value.lowercased()) else {
            throw .invalid(line.number, "setup role", line.text)
        }
        return role
    }
}
