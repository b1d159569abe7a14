/// What a WebRTC session needs from ICE, whichever agent provides it:
/// `ICEAgent` (libnice, full ICE, one socket per peer) or `ICELiteAgent`
/// (the loop's shared port, ICE-lite). Not Sendable: created, used and
/// closed on one media loop; the callbacks arrive there.
public protocol ICETransport: AnyObject {
    var localUfrag: String { get }
    var localPwd: String { get }
    var state: ICEState { get }
    /// Applied when gathering starts; changing them afterwards has no effect.
    var settings: ICESettings { get set }
    /// True for the ICE-lite agent: the SDP carries `a=ice-lite`.
    var isLite: Bool { get }
    /// Candidates to write into our SDP (ICE-lite knows its candidates
    /// before gathering; libnice's are trickled, so none).
    var sdpCandidates: [String] { get }

    var onCandidate: ((String) -> Void)? { get set }
    var onGatheringDone: (() -> Void)? { get set }
    var onStateChange: ((ICEState) -> Void)? { get set }
    /// Local and remote candidate of the selected pair, as SDP candidate strings.
    var onSelectedPair: ((String, String) -> Void)? { get set }
    /// A datagram that is not STUN. The buffer is valid only during the call.
    var onReceive: ((UnsafeMutableRawBufferPointer) -> Void)? { get set }

    func setRemoteCredentials(ufrag: String, pwd: String)
    func gather() throws(ICEError)
    func addRemoteCandidate(_ sdp: String) throws(ICEError)
    /// Sends one datagram to the selected peer address; false when none is selected yet.
    @discardableResult func send(_ bytes: UnsafeRawBufferPointer) -> Bool
    func close()
    /// Called about once a second by the session (the ICE-lite agent samples
    /// whether its selected address is still heard).
    func tick()
}

/// How the server does ICE (`ice.mode`).
public enum ICEMode: String, Sendable, CaseIterable {
    /// One UDP port per media loop shared by all its peers; the server is
    /// ICE-lite (RFC 8445 §2.5). The default.
    case lite
    /// libnice full ICE with a socket per peer (needed for server-side TURN
    /// relays and STUN-learned addresses).
    case full
}

extension ICEAgent: ICETransport {
    public var isLite: Bool { false }
    public var sdpCandidates: [String] { [] }
    public func tick() {}
}
