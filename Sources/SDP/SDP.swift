// SDP: parse, print and the offer/answer model (sans-IO).
//
// Module map:
// - SDP.swift (this file)    SDPError (typed errors, Kurento error text), text helpers
// - Attributes.swift         small value types: Attribute, MediaKind, Direction, ...
// - Codec.swift              Codec and the RFC 3551 static payload table
// - MediaDescription.swift   one m= section
// - SessionDescription.swift the whole description
// - Parser.swift / ParserMedia.swift   text -> model (RFC 8866 §5)
// - Serializer.swift         model -> text (CRLF, RFC 8866 §5 order)
// - Capabilities.swift       what the server supports; negotiation results
// - Matching.swift           codec/feedback/extension matching against capabilities
// - Negotiation*.swift       JSEP answer, offer, answer processing (RFC 8829)
// - RemoteTransport.swift    the peer's ICE/DTLS parameters; SDPCandidate fields
// - PlainRTP.swift           offer/answer for plain RTP/AVP(F) over UDP (RtpEndpoint)
//
// Everything here is pure Swift standard library: no Foundation, no I/O, and no
// input may trap. Network input is untrusted.

/// Why a session description could not be parsed or negotiated.
///
/// Every case carries enough text to be shown to a Kurento client as the
/// error message (`description`). Offending line text is cut to
/// ``SDPError/maxQuotedLength`` characters so that a hostile peer cannot make
/// us echo megabytes back.
public enum SDPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A line that is not of the form `<letter>=<value>` or whose structure
    /// is broken (1-based line number, the line as written, truncated).
    case malformedLine(line: Int, text: String)
    /// A line whose shape is right but one field is not valid, e.g. a
    /// non-numeric port or payload type. `field` names the field.
    case invalidField(line: Int, field: String, text: String)
    /// A mandatory line or attribute is absent (`v=`, `o=`, `a=ice-ufrag`, ...).
    case missingField(String)
    /// Negotiation found nothing to accept (no common codec on any m-line).
    case noUsableMedia(String)
    /// The description uses a feature we do not implement (e.g. no rtcp-mux).
    case unsupported(String)
    /// The input is larger than ``SessionDescription/maxInputBytes``.
    case tooLarge(bytes: Int, limit: Int)
    /// An answer does not match the offer it answers (m-line count, kind, mid).
    case offerAnswerMismatch(String)

    /// Longest piece of peer-supplied text quoted in an error.
    public static let maxQuotedLength = 120

    public var description: String {
        switch self {
        case .malformedLine(let line, let text):
            return "SDP parse error: malformed line \(line): '\(text)'"
        case .invalidField(let line, let field, let text):
            return "SDP parse error: invalid \(field) at line \(line): '\(text)'"
        case .missingField(let what):
            return "SDP error: missing \(what)"
        case .noUsableMedia(let why):
            return "SDP negotiation failed: no usable media (\(why))"
        case .unsupported(let what):
            return "SDP negotiation failed: unsupported \(what)"
        case .tooLarge(let bytes, let limit):
            return "SDP too large: \(bytes) bytes (limit \(limit))"
        case .offerAnswerMismatch(let why):
            return "SDP answer does not match the offer: \(why)"
        }
    }

    /// Cuts peer text for quoting in an error message.
    static func quote(_ text: some StringProtocol) -> String {
        if text.count <= maxQuotedLength { return String(text) }
        return String(text.prefix(maxQuotedLength)) + "..."
    }

    static func malformed(_ line: Int, _ text: some StringProtocol) -> SDPError {
        .malformedLine(line: line, text: quote(text))
    }

    static func invalid(_ line: Int, _ field: String, _ text: some StringProtocol) -> SDPError {
        .invalidField(line: line, field: field, text: quote(text))
    }
}

// MARK: - Text helpers

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (SDP separates
    /// fields with single spaces, RFC 8866 §5, but peers add stray ones).
    var sdpTrimmed: Substring {
        var sub = Substring(self)
        while let first = sub.first, first == " " || first == "\t" { sub = sub.dropFirst() }
        while let last = sub.last, last == " " || last == "\t" { sub = sub.dropLast() }
        return sub
    }

    /// Space-separated fields, ignoring repeated or surrounding spaces.
    var sdpFields: [Substring] {
        Substring(self).split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// Splits at the first occurrence of `separator`: `("a", "b:c")` for
    /// `"a:b:c"`, `("abc", nil)` when there is none.
    func sdpSplitOnce(_ separator: Character) -> (head: Substring, tail: Substring?) {
        let sub = Substring(self)
        guard let index = sub.firstIndex(of: separator) else { return (sub, nil) }
        return (sub[sub.startIndex..<index], sub[sub.index(after: index)...])
    }

    /// Case-insensitive equality for ASCII tokens (codec names, algorithms).
    func sdpEqualsIgnoringCase(_ other: some StringProtocol) -> Bool {
        lowercased() == other.lowercased()
    }
}
