import CNetIO
import CNice
import Glibc
public import Logging

/// The ICE-lite side (RFC 8445 §2.5) of one peer on its loop's shared port.
///
/// It gathers one host candidate per advertised address, all on the loop's
/// port, and never sends checks: the peer (a full agent, controlling) does.
/// The first authenticated check selects the peer's address (state
/// CONNECTED, so DTLS can start); a nomination (USE-CANDIDATE) confirms it or
/// moves to a new address (READY). Later authenticated checks from another
/// address with USE-CANDIDATE move the session there (a peer that changed
/// network), as does any authenticated check from another address once the
/// selected one has been silent for 2 s (a NAT rebinding). Consent freshness is kept by the session from authenticated
/// SRTP/SRTCP, as in full mode.
///
/// Not Sendable: created, used and closed on the loop that owns `mux`.
public final class ICELiteAgent: ICETransport {
    private let mux: UDPMux
    private let logger: Logger
    public var settings: ICESettings
    public let localUfrag: String
    public let localPwd: String
    public var isLite: Bool { true }
    public private(set) var state: ICEState = .disconnected

    public var onCandidate: ((String) -> Void)?
    public var onGatheringDone: (() -> Void)?
    public var onStateChange: ((ICEState) -> Void)?
    public var onSelectedPair: ((String, String) -> Void)?
    public var onReceive: ((UnsafeMutableRawBufferPointer) -> Void)?

    private var remoteUfrag: String?
    private var remoteCandidates: [String] = []
    private var localCandidates: [String] = []
    private var gathered = false
    private var closed = false
    /// Addresses authenticated checks came from, oldest first (at most `maxAddresses`).
    private(set) var knownAddresses: [UDPEndpoint] = []
    private static let maxAddresses = 8
    /// Where we send: the nominated address, or the first authenticated one until a nomination.
    public private(set) var selected: UDPEndpoint?
    /// Datagrams from the selected address, and when that count last moved
    /// (sampled every second and at each check): how a silent selected
    /// address is noticed without reading the clock per datagram.
    private var fromSelected: UInt64 = 0
    private var sampledFromSelected: UInt64 = 0
    private var selectedHeardAt: Duration
    /// A selected address silent this long gives way to another authenticated one.
    static let silentSelectedTimeout: Duration = .seconds(2)

    public init(mux: UDPMux, settings: ICESettings, logger: Logger) {
        self.mux = mux
        selectedHeardAt = mux.loop.clock.now
        self.settings = settings
        self.logger = logger
        // RFC 8445 §5.3: ufrag at least 24 bits, password at least 128 bits of randomness.
        localUfrag = Self.randomICEString(length: 8)
        localPwd = Self.randomICEString(length: 24)
        mux.register(self)
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        mux.unregister(self)
        onCandidate = nil
        onGatheringDone = nil
        onStateChange = nil
        onSelectedPair = nil
        onReceive = nil
    }

    public func setRemoteCredentials(ufrag: String, pwd: String) {
        // The peer's password would authenticate the checks we send; a lite agent sends none.
        remoteUfrag = ufrag
        if gathered, state == .gathering { setState(.connecting) }
    }

    /// Reports one host candidate per advertised address, then the end of
    /// gathering, from the loop after the caller returns (as libnice does).
    public func gather() throws(ICEError) {
        guard !closed else { return }
        if gathered {
            // Asked again: report the same candidates again.
            let candidates = localCandidates
            mux.loop.later { [self] in
                guard !closed else { return }
                for c in candidates { onCandidate?(c) }
                onGatheringDone?()
            }
            return
        }
        localCandidates = try hostCandidates()
        gathered = true
        // The answer already carries our candidates, so the peer's checks may
        // have connected us before the client asks to gather: never go back.
        if state == .disconnected { setState(.gathering) }
        let candidates = localCandidates
        // A strong capture, not a weak one (which would give the agent a side
        // table and slow every retain of it on the packet path); it lives
        // until this runs, and does nothing if closed by then.
        mux.loop.later { [self] in
            guard !self.closed else { return }
            for c in candidates { self.onCandidate?(c) }
            self.onGatheringDone?()
            if self.state == .gathering, self.remoteUfrag != nil { self.setState(.connecting) }
        }
    }

    /// One host candidate per advertised address, all on the loop's port.
    private func hostCandidates() throws(ICEError) -> [String] {
        let addresses = UDPMux.advertisedAddresses(configured: try settings.gatherAddresses())
        guard !addresses.isEmpty else { throw ICEError(description: "no IPv4 host address to advertise on the shared port") }
        return addresses.enumerated().map { index, address in
            // Type preference 126 (host), local preference by order, component 1 (RFC 8445 §5.1.2.1).
            let priority = (126 << 24) | ((65535 - index) << 8) | 255
            return settings.advertised("candidate:\(index + 1) 1 UDP \(priority) \(address) \(mux.port) typ host")
        }
    }

    /// Written into the SDP as well as trickled: a lite agent sends no checks,
    /// so a peer that dropped a trickled candidate (one that arrived before
    /// the answer was applied) would otherwise never find us.
    public var sdpCandidates: [String] { (try? hostCandidates()) ?? [] }

    /// Remote candidates only name addresses a lite agent never checks; they
    /// are kept to describe the selected pair as the peer announced it.
    public func addRemoteCandidate(_ sdp: String) throws(ICEError) {
        let trimmed = sdp.hasPrefix("a=") ? String(sdp.dropFirst(2)) : sdp
        guard !trimmed.isEmpty else { return }
        let fields = trimmed.split(separator: " ")
        guard trimmed.hasPrefix("candidate:"), fields.count >= 8, fields[6] == "typ" else {
            throw ICEError(description: "cannot parse candidate '\(sdp)'")
        }
        if remoteCandidates.count < 64 { remoteCandidates.append(trimmed) }
    }

    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !closed, let to = selected else { return false }
        mux.send(bytes, to: to.peer)
        return true
    }

    // MARK: From the mux

    /// A datagram from one of our authenticated addresses (not STUN).
    func deliver(_ buffer: UnsafeMutableRawBufferPointer, from address: tessera_peer) {
        if let s = selected, s.raw.sin_port == address.port, s.raw.sin_addr.s_addr == address.address {
            fromSelected &+= 1
        }
        onReceive?(buffer)
    }

    /// An authenticated binding request from `address` was answered.
    func checkReceived(from address: UDPEndpoint, nominated useCandidate: Bool, priority: UInt32) {
        guard !closed else { return }
        if !knownAddresses.contains(address) {
            if knownAddresses.count == Self.maxAddresses,
               let victim = knownAddresses.firstIndex(where: { $0 != selected }) {
                mux.removeRoute(knownAddresses.remove(at: victim), of: self)
            }
            knownAddresses.append(address)
            mux.addRoute(address, to: self)
        }
        let now = mux.loop.clock.now
        if address == selected { selectedHeardAt = now }
        tick(now: now)
        let first = selected == nil
        // A peer whose address changed without a new nomination (a NAT
        // rebinding; aioice's consent checks carry no USE-CANDIDATE): once
        // nothing came from the selected address for a while, an
        // authenticated check from another one moves the session there.
        let silentSelected = !first && address != selected && now - selectedHeardAt >= Self.silentSelectedTimeout
        if first || silentSelected || (useCandidate && address != selected) {
            let moved = !first
            selected = address
            selectedHeardAt = now
            if moved {
                logger.info("ICE-lite: peer moved", metadata: ["ufrag": "\(localUfrag)", "address": "\(address)"])
            }
            if state != .connected, state != .ready { setState(.connected) }
            // Once per address: a nomination of the selected address only makes the state READY.
            onSelectedPair?(localCandidate(for: address), remoteCandidate(for: address, priority: priority))
        }
        if useCandidate, state != .ready { setState(.ready) }
    }

    public func tick() { tick(now: mux.loop.clock.now) }

    private func tick(now: Duration) {
        if fromSelected != sampledFromSelected {
            sampledFromSelected = fromSelected
            selectedHeardAt = now
        }
    }

    private func setState(_ s: ICEState) {
        guard s != state else { return }
        state = s
        onStateChange?(s)
    }

    private func localCandidate(for peer: UDPEndpoint) -> String {
        localCandidates.first ?? "candidate:1 1 UDP 2130706431 \(mux.boundAddress) \(mux.port) typ host"
    }

    /// The peer's candidate for that address as it announced it, or a
    /// peer-reflexive one (RFC 8445 §7.3.1.3) when it did not.
    private func remoteCandidate(for address: UDPEndpoint, priority: UInt32) -> String {
        let host = address.host, port = String(address.port)
        if let c = remoteCandidates.first(where: {
            let f = $0.split(separator: " ")
            return f.count >= 6 && f[4] == host && f[5] == port
        }) { return c }
        return "candidate:prflx 1 UDP \(priority) \(host) \(port) typ prflx"
    }

    public static func randomICEString(length: Int) -> String {
        // ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var rng = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }
}
