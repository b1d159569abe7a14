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
