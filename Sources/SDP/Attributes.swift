// Small value types shared by session- and media-level descriptions.

/// An `a=` line kept as written: `a=name` (flag, `value == nil`) or
/// `a=name:value` (RFC 8866 §5.13). Used for attributes this module does
/// not model, so that they survive a parse/serialize round trip in order.
public struct Attribute: Sendable, Equatable, Hashable {
    public var name: String
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// The `<media>` token of an m= line (RFC 8866 §5.14).
///
/// Design: an enum with an `other` case so that unknown kinds (`text`,
/// `message`, future ones) parse and round-trip instead of failing the whole
/// description; negotiation rejects them. It conforms to `RawRepresentable`
/// by hand, so `MediaKind(rawValue:)` and `.rawValue` work as they would for
/// a `String`-backed enum; the failable initializer never returns nil.
public enum MediaKind: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    case audio
    case video
    case application
    case other(String)

    /// Never fails; unknown tokens become `.other(token)`.
    public init?(rawValue: String) { self.init(token: rawValue) }

    /// Maps a token to a kind; known kinds are matched case-insensitively.
    public init(token: String) {
        switch token.lowercased() {
        case "audio": self = .audio
        case "video": self = .video
        case "application": self = .application
        default: self = .other(token)
        }
    }

    public var rawValue: String {
        switch self {
        case .audio: return "audio"
        case .video: return "video"
        case .application: return "application"
        case .other(let token): return token
        }
    }

    public var description: String { rawValue }
}

/// Media direction attributes (RFC 8866 §6.7, RFC 3264 §6.1).
public enum Direction: String, Sendable, Hashable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    /// Builds a direction from the two independent flags.
    public init(sending: Bool, receiving: Bool) {
        switch (sending, receiving) {
        case (true, true): self = .sendrecv
        case (true, false): self = .sendonly
        case (false, true): self = .recvonly
        case (false, false): self = .inactive
        }
    }

    public var sends: Bool { self == .sendrecv || self == .sendonly }
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    /// The direction seen from the other side: an offer's `sendonly` is
    /// answered with `recvonly` (RFC 3264 §6.1). sendrecv and inactive are
    /// symmetric.
    public var reversed: Direction { Direction(sending: receives, receiving: sends) }

    /// What both constraints allow, e.g. `sendrecv ∩ recvonly == recvonly`.
    public func intersection(_ other: Direction) -> Direction {
        Direction(sending: sends && other.sends, receiving: receives && other.receives)
    }
}

/// DTLS role negotiation, `a=setup` (RFC 4145 §4, RFC 8842 §5).
public enum SetupRole: String, Sendable, Hashable, CaseIterable {
    case actpass, active, passive, holdconn

    /// The role an answerer takes for an offered role (RFC 8842 §5.2/§5.3):
    /// an `actpass` offer lets the answerer choose; we choose `passive` so the
    /// peer (a browser) connects to us as DTLS client. `active` and `passive`
    /// are mirrored; a missing role means `actpass` (RFC 8842 §5.3).
    public static func answering(_ offered: SetupRole?) -> SetupRole {
        switch offered {
        case .active: return .passive
        case .passive: return .active
        case .holdconn: return .holdconn
        case .actpass, nil: return .passive
        }
    }

    /// True when this side, having `self` as its negotiated role, acts as the
    /// DTLS client (sends the ClientHello).
    public var isDTLSClient: Bool { self == .active }
}

/// `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122 §5, RFC 8842 §5.1).
/// `value` is kept exactly as written (upper-case hex with colons in practice).
public struct Fingerprint: Sendable, Equatable, Hashable {
    public var algorithm: String
    public var value: String

    public init(algorithm: String, value: String) {
        self.algorithm = algorithm
        self.value = value
    }
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
public struct Extmap: Sendable, Equatable, Hashable {
    public var id: UInt8
    public var direction: Direction?
    public var uri: String
    /// Extension attributes after the URI, kept verbatim (rarely used).
    public var attributes: String?

    public init(id: UInt8, direction: Direction? = nil, uri: String, attributes: String? = nil) {
        self.id = id
        self.direction = direction
        self.uri = uri
        self.attributes = attributes
    }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
public struct SSRCAttribute: Sendable, Equatable, Hashable {
    public var ssrc: UInt32
    public var name: String
    public var value: String?

    public init(ssrc: UInt32, name: String, value: String? = nil) {
        self.ssrc = ssrc
        self.name = name
        self.value = value
    }
}

/// `a=ssrc-group:<semantics> <ssrc>...` (RFC 5576 §4.2), e.g. `FID` pairs a
/// media SSRC with its RTX SSRC (RFC 4588 §8.3).
public struct SSRCGroup: Sendable, Equatable, Hashable {
    public var semantics: String
    public var ssrcs: [UInt32]

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }
}
