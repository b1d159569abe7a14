// The whole session description (RFC 8866 §5) with the session-level
// attributes WebRTC uses modelled explicitly.

public struct SessionDescription: Sendable, Equatable {
    /// o= <username> (RFC 8866 §5.2); "-" when there is none.
    public var originUsername: String
    public var sessionID: UInt64
    public var sessionVersion: UInt64
    /// o= <unicast-address>, e.g. "127.0.0.1" or "0.0.0.0".
    public var originAddress: String
    /// s= (RFC 8866 §5.3); "-" by convention (RFC 8829 §5.2.1).
    public var sessionName: String
    /// Session-level c= address, if any (RFC 8866 §5.7).
    public var connectionAddress: String?
    /// Each a=group:BUNDLE line's mids (RFC 8843 §7.1).
    public var bundleGroups: [[String]]
    /// a=ice-lite (RFC 8839 §5.3).
    public var iceLite: Bool
    /// Session-level ICE credentials; media-level ones override them.
    public var iceUfrag: String?
    public var icePwd: String?
    public var iceOptions: [String]
    public var fingerprints: [Fingerprint]
    public var setup: SetupRole?
    public var media: [MediaDescription]
    /// Session attributes not modelled, in order (msid-semantic,
    /// extmap-allow-mixed, other a=group semantics, ...).
    public var otherAttributes: [Attribute]

    /// Largest description `parse` accepts. Real offers are a few kB
    /// (Chromium's audio+video offer is ~6 kB); this bounds the work a
    /// hostile peer can cause.
    public static let maxInputBytes = 1 << 20

    /// Most m= sections `parse` accepts. Browsers add one per transceiver;
    /// a thousand is far beyond any real session and keeps per-m-line work
    /// (BUNDLE lookups) small.
    public static let maxMediaSections = 1024

    public init(originUsername: String = "-", sessionID: UInt64 = 0, sessionVersion: UInt64 = 1,
                originAddress: String = "127.0.0.1", sessionName: String = "-",
                connectionAddress: String? = nil, bundleGroups: [[String]] = [], iceLite: Bool = false,
                iceUfrag: String? = nil, icePwd: String? = nil, iceOptions: [String] = [],
                fingerprints: [Fingerprint] = [], setup: SetupRole? = nil, media: [MediaDescription] = [],
                otherAttributes: [Attribute] = []) {
        self.originUsername = originUsername
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.originAddress = originAddress
        self.sessionName = sessionName
        self.connectionAddress = connectionAddress
        self.bundleGroups = bundleGroups
        self.iceLite = iceLite
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.iceOptions = iceOptions
        self.fingerprints = fingerprints
        self.setup = setup
        self.media = media
        self.otherAttributes = otherAttributes
    }

    /// The BUNDLE group that contains `mid`, if any.
    public func bundleGroup(containing mid: String) -> [String]? {
        bundleGroups.first { $0.contains(mid) }
    }

    /// Whether m-line `index` takes part in the session: a non-zero port, or
    /// port 0 with a=bundle-only and a mid in a BUNDLE group (RFC 8843 §6,
    /// which lifts RFC 3264's "port 0 means rejected" for that case).
    public func isActive(mediaAt index: Int) -> Bool {
        guard media.indices.contains(index) else { return false }
        let section = media[index]
        if section.port != 0 { return true }
        guard section.bundleOnly, let mid = section.mid else { return false }
        return bundleGroup(containing: mid) != nil
    }

    /// ICE ufrag for an m-line: its own, else the session's (RFC 8839 §5.4).
    public func effectiveIceUfrag(mediaAt index: Int) -> String? {
        guard media.indices.contains(index) else { return iceUfrag }
        return media[index].iceUfrag ?? iceUfrag
    }

    public func effectiveIcePwd(mediaAt index: Int) -> String? {
        guard media.indices.contains(index) else { return icePwd }
        return media[index].icePwd ?? icePwd
    }

    /// Fingerprints for an m-line: media-level ones replace session-level
    /// ones (RFC 8122 §5).
    public func effectiveFingerprints(mediaAt index: Int) -> [Fingerprint] {
        guard media.indices.contains(index), !media[index].fingerprints.isEmpty else { return fingerprints }
        return media[index].fingerprints
    }

    public func effectiveSetup(mediaAt index: Int) -> SetupRole? {
        guard media.indices.contains(index) else { return setup }
        return media[index].setup ?? setup
    }
}
