public import CNice
import Glibc
public import Logging

/// ICE state of the single bundled component, as libnice reports it
/// (and as Kurento's `IceComponentState` names it).
public enum ICEState: String, Sendable {
    case disconnected = "DISCONNECTED", gathering = "GATHERING", connecting = "CONNECTING"
    case connected = "CONNECTED", ready = "READY", failed = "FAILED"

    init(nice: UInt32) {
        switch nice {
        case NICE_COMPONENT_STATE_GATHERING.rawValue: self = .gathering
        case NICE_COMPONENT_STATE_CONNECTING.rawValue: self = .connecting
        case NICE_COMPONENT_STATE_CONNECTED.rawValue: self = .connected
        case NICE_COMPONENT_STATE_READY.rawValue: self = .ready
        case NICE_COMPONENT_STATE_FAILED.rawValue: self = .failed
        default: self = .disconnected
        }
    }
}

public struct ICEError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Settings of one agent: the server config's, possibly overridden per
/// endpoint (WebRtcEndpoint stunServerAddress, turnUrl, networkInterfaces,
/// externalIPv4/6). Read when gathering starts.
public struct ICESettings: Sendable, Equatable {
    /// Host addresses to gather on; empty = libnice's own discovery (non-loopback interfaces).
    public var hostAddresses: [String] = []
    /// Interface names to gather on (their addresses replace `hostAddresses`); empty = not set.
    public var networkInterfaces: [String] = []
    public var portRange: ClosedRange<Int>? = nil
    /// STUN server "host:port" (an IP address: libnice does no DNS here).
    public var stunServer: String? = nil
    /// TURN relays, each "user:password@host:port[?transport=udp|tcp]"; the agent
    /// gathers a relayed candidate from every one.
    public var turnServers: [String] = []
    /// The first TURN relay (Kurento's single `turnUrl`); setting it replaces them all.
    public var turnServer: String? {
        get { turnServers.first }
        set { turnServers = newValue.map { [$0] } ?? [] }
    }
    /// Advertised instead of the address of every local IPv4 / IPv6 host candidate.
    public var externalIPv4: String? = nil
    public var externalIPv6: String? = nil
    /// How long a connected peer may stay silent (no authenticated packet)
    /// before its consent has expired (RFC 7675 §5.1 allows 30 s). The session
    /// watches this itself: see `ICEAgent.init` for why libnice does not.
    public var consentTimeout: Duration = .seconds(30)
    /// `lite` (the default): every peer of a media loop shares that loop's
    /// port; `full`: libnice with a port per peer.
    public var mode: ICEMode = .lite
    /// First port of the shared ports (loop i listens on `udpPort + i`); 0 =
    /// a port the kernel chooses for each loop (tests running side by side).
    public var udpPort: Int = 0
    public init() {}

    /// Whether an endpoint with these settings runs full ICE on libnice: in
    /// full mode, or when it needs what only a full agent gathers (a TURN
    /// relay, a STUN-learned address).
    public var needsFullICE: Bool { mode == .full || turnServer != nil || stunServer != nil }

    /// The addresses to gather on: those of `networkInterfaces` when set, else `hostAddresses`.
    public func gatherAddresses() throws(ICEError) -> [String] {
        guard !networkInterfaces.isEmpty else { return hostAddresses }
        let found = ICESettings.addresses(ofInterfaces: networkInterfaces)
        guard !found.isEmpty else {
            throw ICEError(description: "no usable address on network interfaces \(networkInterfaces.joined(separator: ","))")
        }
        return found
    }

    /// IPv4 and IPv6 addresses of the named interfaces (IPv6 link-local ones
    /// left out: they need a scope and no peer of ours can use them).
    public static func addresses(ofInterfaces names: [String]) -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var result: [String] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, let name = entry.pointee.ifa_name,
                names.contains(String(cString: name))
            else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            switch Int32(addr.pointee.sa_family) {
            case AF_INET:
                var a = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                guard inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil else { continue }
            case AF_INET6:
                var a = addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                guard inet_ntop(AF_INET6, &a, &text, socklen_t(text.count)) != nil else { continue }
            default:
                continue
            }
            let address = String(cString: text)
            if address.lowercased().hasPrefix("fe80:") || result.contains(address) { continue }
            result.append(address)
        }
        return result
    }

    /// Whether `text` is an IPv4 (`v6` false) or IPv6 literal.
    public static func isIPAddress(_ text: String, v6: Bool) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(v6 ? AF_INET6 : AF_INET, text, &buffer) == 1
    }

    /// The candidate as we advertise it: a host candidate's address replaced
    /// by the external address of its family, when one is set (as Kurento's
    /// externalIPv4/externalIPv6 do). Other candidates are unchanged.
    public func advertised(_ candidate: String) -> String {
        guard externalIPv4 != nil || externalIPv6 != nil else { return candidate }
        var fields = candidate.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 8, fields[6] == "typ", fields[7] == "host" else { return candidate }
        let isV6 = fields[4].contains(":")
        guard let external = isV6 ? externalIPv6 : externalIPv4 else { return candidate }
        fields[4] = external
        return fields.joined(separator: " ")
    }
}

/// Owner of one libnice agent with one stream and one component (BUNDLE and
/// rtcp-mux). Not Sendable: created, used and closed on its media loop; its
/// callbacks arrive on that loop.
public final class ICEAgent {
    private let agent: OpaquePointer  // NiceAgent*
    private let streamID: guint
    private let logger: Logger
    private var closed = false
    private var gathering = false
    /// Applied when gathering starts; changing them afterwards has no effect.
    public var settings: ICESettings
    public let localUfrag: String
    public let localPwd: String

    public var onCandidate: ((String) -> Void)?
    public var onGatheringDone: (() -> Void)?
    public var onStateChange: ((ICEState) -> Void)?
    /// Local and remote candidate of the selected pair, as SDP candidate strings.
    public var onSelectedPair: ((String, String) -> Void)?
    /// A datagram arrived. The buffer is valid only during the call.
    public var onReceive: ((UnsafeMutableRawBufferPointer) -> Void)?

    public private(set) var state: ICEState = .disconnected

    public init(loop: MediaLoop, controlling: Bool, settings: ICESettings, logger: Logger) throws(ICEError) {
        self.logger = logger
        self.settings = settings
        // No NICE_AGENT_OPTION_CONSENT_FRESHNESS: libnice 0.1.21 revokes consent
        // 10 s after the last answered check while it sends one unretransmitted
        // check every 4-6 s, so one or two lost responses (10 % loss) revoke it,
        // and nothing ever grants it back: nice_agent_send then fails for good
        // while checks and incoming media keep flowing (upstream raised the
        // timeout to 30 s in 0.1.22; the revocation is still permanent). The
        // session keeps RFC 7675's 30 s window itself, from authenticated
        // traffic (WebRtcSession.checkConsent).
        let options = NICE_AGENT_OPTION_ICE_TRICKLE.rawValue
        guard let a = nice_agent_new_full(loop.gContext, NICE_COMPATIBILITY_RFC5245, NiceAgentOption(options)) else {
            throw ICEError(description: "cannot create ICE agent")
        }
        agent = a
        // UPnP would send SSDP multicast out of every interface; never wanted.
        tessera_g_object_set_bool(UnsafeMutableRawPointer(a), "upnp", 0)
        tessera_g_object_set_bool(UnsafeMutableRawPointer(a), "ice-tcp", 0)
        tessera_g_object_set_bool(UnsafeMutableRawPointer(a), "controlling-mode", controlling ? 1 : 0)
        streamID = nice_agent_add_stream(a, 1)
        guard streamID != 0 else {
            g_object_unref(UnsafeMutableRawPointer(a))
            throw ICEError(description: "cannot add ICE stream")
        }
        var ufrag: UnsafeMutablePointer<gchar>?
        var pwd: UnsafeMutablePointer<gchar>?
        nice_agent_get_local_credentials(a, streamID, &ufrag, &pwd)
        localUfrag = ufrag.map { String(cString: $0) } ?? ""
        localPwd = pwd.map { String(cString: $0) } ?? ""
        g_free(ufrag)
        g_free(pwd)
        connectSignals()
        nice_agent_attach_recv(a, streamID, 1, loop.gContext, { _, _, _, len, buf, data in
            guard let data, let buf else { return }
            let me = Unmanaged<ICEAgent>.fromOpaque(data).takeUnretainedValue()
            me.onReceive?(UnsafeMutableRawBufferPointer(start: buf, count: Int(len)))
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { close() }

    /// Detaches every callback and frees the agent; nothing reaches this object afterwards.
    public func close() {
        guard !closed else { return }
        closed = true
        nice_agent_attach_recv(agent, streamID, 1, nil, nil, nil)
        g_signal_handlers_disconnect_matched(
            UnsafeMutableRawPointer(agent), G_SIGNAL_MATCH_DATA, 0, 0, nil, nil, Unmanaged.passUnretained(self).toOpaque())
        nice_agent_remove_stream(agent, streamID)
        g_object_unref(UnsafeMutableRawPointer(agent))
    }

    private func connectSignals() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let gathered: @convention(c) (UnsafeMutableRawPointer?, guint, UnsafeMutableRawPointer?) -> Void = { _, _, data in
            Unmanaged<ICEAgent>.fromOpaque(data!).takeUnretainedValue().onGatheringDone?()
        }
        let stateChanged: @convention(c) (UnsafeMutableRawPointer?, guint, guint, guint, UnsafeMutableRawPointer?) -> Void = {
            _, _, _, state, data in
            let me = Unmanaged<ICEAgent>.fromOpaque(data!).takeUnretainedValue()
            me.state = ICEState(nice: state)
            me.onStateChange?(me.state)
        }
        let newCandidate: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<NiceCandidate>?, UnsafeMutableRawPointer?) -> Void = {
            _, candidate, data in
            let me = Unmanaged<ICEAgent>.fromOpaque(data!).takeUnretainedValue()
            guard let candidate, let sdp = me.candidateSDP(candidate) else { return }
            me.onCandidate?(me.settings.advertised(sdp))
        }
        let selectedPair: @convention(c) (UnsafeMutableRawPointer?, guint, guint, UnsafeMutablePointer<NiceCandidate>?,
                                          UnsafeMutablePointer<NiceCandidate>?, UnsafeMutableRawPointer?) -> Void = {
            _, _, _, local, remote, data in
            let me = Unmanaged<ICEAgent>.fromOpaque(data!).takeUnretainedValue()
            let l = local.flatMap { me.candidateSDP($0) } ?? ""
            let r = remote.flatMap { me.candidateSDP($0) } ?? ""
            me.onSelectedPair?(l, r)
        }
        let a = UnsafeMutableRawPointer(agent)
        tessera_g_signal_connect(a, "candidate-gathering-done", unsafeBitCast(gathered, to: GCallback.self), me)
        tessera_g_signal_connect(a, "component-state-changed", unsafeBitCast(stateChanged, to: GCallback.self), me)
        tessera_g_signal_connect(a, "new-candidate-full", unsafeBitCast(newCandidate, to: GCallback.self), me)
        tessera_g_signal_connect(a, "new-selected-pair-full", unsafeBitCast(selectedPair, to: GCallback.self), me)
    }

    /// "candidate:..." as a browser puts it in RTCIceCandidate.candidate.
    private func candidateSDP(_ c: UnsafeMutablePointer<NiceCandidate>) -> String? {
        guard let text = nice_agent_generate_local_candidate_sdp(agent, c) else { return nil }
        defer { g_free(text) }
        let s = String(cString: text)
        return s.hasPrefix("a=") ? String(s.dropFirst(2)) : s
    }

    public func setRemoteCredentials(ufrag: String, pwd: String) {
        nice_agent_set_remote_credentials(agent, streamID, ufrag, pwd)
    }

    /// Starts gathering; candidates arrive through `onCandidate`.
    /// The first call applies `settings` (host addresses, port range, STUN
    /// and TURN servers), which libnice reads only before gathering.
    public func gather() throws(ICEError) {
        if !gathering {
            try applySettings()
            gathering = true
        }
        guard nice_agent_gather_candidates(agent, streamID) != 0 else {
            throw ICEError(description: "Error gathering candidates")
        }
    }

    private func applySettings() throws(ICEError) {
        let a = agent
        for host in try settings.gatherAddresses() {
            var addr = NiceAddress()
            nice_address_init(&addr)
            if nice_address_set_from_string(&addr, host) != 0 {
                nice_agent_add_local_address(a, &addr)
            } else {
                logger.warning("ignoring host address that is not an IP address", metadata: ["address": "\(host)"])
            }
        }
        if let stun = settings.stunServer, let (host, port) = Self.hostPort(stun) {
            tessera_g_object_set_string(UnsafeMutableRawPointer(a), "stun-server", host)
            tessera_g_object_set_uint(UnsafeMutableRawPointer(a), "stun-server-port", guint(port))
        }
        if let range = settings.portRange {
            nice_agent_set_port_range(a, streamID, 1, guint(range.lowerBound), guint(range.upperBound))
        }
        for turn in settings.turnServers {
            guard let relay = Self.parseTURN(turn) else { throw ICEError(description: "cannot parse TURN URL '\(turn)'") }
            _ = nice_agent_set_relay_info(a, streamID, 1, relay.host, guint(relay.port), relay.user, relay.pass, relay.type)
        }
    }

    /// Adds one remote candidate ("candidate:..." or "a=candidate:..."). An
    /// empty string is the end-of-candidates marker and is ignored.
    public func addRemoteCandidate(_ sdp: String) throws(ICEError) {
        let trimmed = sdp.trimmingPrefix("a=")
        guard !trimmed.isEmpty else { return }
        guard let c = nice_agent_parse_remote_candidate_sdp(agent, streamID, "a=" + trimmed) else {
            throw ICEError(description: "cannot parse candidate '\(sdp)'")
        }
        // Only UDP for now; TCP candidates are skipped rather than failing the call.
        let list = g_slist_append(nil, c)
        let added = nice_agent_set_remote_candidates(agent, streamID, 1, list)
        g_slist_free(list)
        nice_candidate_free(c)
        if added < 0 { throw ICEError(description: "Error adding candidate") }
    }

    /// Sends one datagram on the selected pair; false if ICE is not connected.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !closed, let base = bytes.baseAddress else { return false }
        return nice_agent_send(agent, streamID, 1, guint(bytes.count), base.assumingMemoryBound(to: gchar.self)) >= 0
    }

    public static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        return (String(text[..<colon]), port)
    }

    public static func parseTURN(_ text: String) -> (user: String, pass: String, host: String, port: Int, type: NiceRelayType)? {
        var rest = Substring(text)
        if rest.hasPrefix("turn:") { rest = rest.dropFirst(5) }
        var type = NICE_RELAY_TYPE_TURN_UDP
        if let q = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: q)...]
            if query.contains("transport=tcp") { type = NICE_RELAY_TYPE_TURN_TCP }
            if query.contains("transport=tls") { type = NICE_RELAY_TYPE_TURN_TLS }
            rest = rest[..<q]
        }
        guard let at = rest.lastIndex(of: "@") else { return nil }
        let cred = rest[..<at].split(separator: ":", maxSplits: 1)
        guard cred.count == 2, let (host, port) = hostPort(String(rest[rest.index(after: at)...])) else { return nil }
        return (String(cred[0]), String(cred[1]), host, port, type)
    }
}

extension String {
    fileprivate func trimmingPrefix(_ p: String) -> String { hasPrefix(p) ? String(dropFirst(p.count)) : self }
}
