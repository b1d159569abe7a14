import CNetIO
import CNice
import COpenSSL
import Glibc
import STUN

/// Why the shared port dropped a datagram (`tessera_udp_dropped_total{reason}`).
public enum UDPDropReason: String, Sendable, CaseIterable {
    /// Not STUN, and not from an address an authenticated check came from.
    case unknownSource
    /// STUN that does not parse, or whose FINGERPRINT is wrong.
    case malformedSTUN
    /// A binding request whose USERNAME names no session of this port.
    case unknownUsername
    /// A binding request for a known session with a wrong MESSAGE-INTEGRITY (answered 401).
    case badIntegrity
    /// STUN we never ask for (responses, other methods) or an answer that would be bigger than the request.
    case unexpectedSTUN
    /// Larger than a receive slot, or not IPv4.
    case oversize
}

/// One media loop's shared UDP port (ICE-lite mode): every WebRTC peer of the
/// loop sends to it and is answered from it.
///
/// Receive: `recvmmsg` takes every ready datagram at once; each is routed by
/// its sender's address (5-tuple) to the agent an authenticated check bound
/// it to, STUN from unknown senders goes to the ICE-lite responder, anything
/// else is dropped and counted. Send: while a batch is being processed (and
/// inside `batch {}`), outgoing datagrams are copied into slots and leave with
/// one `sendmmsg` at its end. No allocation per datagram in steady state.
///
/// Not Sendable: opened anywhere, then used and closed only on its loop.
public final class UDPMux {
    public let loop: MediaLoop
    /// The bound port (the configured one, or the kernel's choice for 0).
    public let port: UInt16
    /// The address the socket is bound to (0.0.0.0 or one host address).
    public let boundAddress: String
    private var fd: Int32
    private var source: UnsafeMutablePointer<GSource>?

    private static let slotCount = Int(TESSERA_NETIO_BATCH)
    private static let slotSize = 2048
    private let receiveSlots: UnsafeMutablePointer<tessera_datagram>
    private let receiveMemory: UnsafeMutableRawPointer
    private let sendSlots: UnsafeMutablePointer<tessera_datagram>
    private let sendMemory: UnsafeMutableRawPointer
    private var pendingSends = 0
    private var batchDepth = 0

    /// Agents by local ufrag (what the USERNAME of a check starts with).
    private var agents: [String: ICELiteAgent] = [:]
    /// Agents by the peer address authenticated checks came from.
    private var routes: [UInt64: ICELiteAgent] = [:]

    public private(set) var receivedDatagrams: UInt64 = 0
    public private(set) var sentDatagrams: UInt64 = 0
    public private(set) var dropped: [UDPDropReason: UInt64] = [:]
    /// Called for every drop (metrics); runs on the loop.
    public var onDrop: ((UDPDropReason) -> Void)?

    /// Binds `host:port` (port 0: the kernel chooses) and starts reading on `loop`.
    public init(loop: MediaLoop, host: String, port: Int) throws(UDPError) {
        guard let address = UDPEndpoint(host: host, port: UInt16(clamping: port)) else {
            throw UDPError(description: "not an IPv4 address: \(host)")
        }
        let sock = tessera_udp_open(address.raw.sin_addr.s_addr, address.raw.sin_port, 4 << 20)
        guard sock >= 0 else {
            throw UDPError(description: "cannot bind UDP \(host):\(port) for media loop \(loop.index): \(String(cString: strerror(-sock)))")
        }
        let boundPort = tessera_udp_local_port(sock)
        self.loop = loop
        fd = sock
        self.port = UInt16(clamping: boundPort)
        boundAddress = host
        receiveMemory = .allocate(byteCount: Self.slotCount * Self.slotSize, alignment: 16)
        sendMemory = .allocate(byteCount: Self.slotCount * Self.slotSize, alignment: 16)
        receiveSlots = .allocate(capacity: Self.slotCount)
        sendSlots = .allocate(capacity: Self.slotCount)
        for i in 0..<Self.slotCount {
            receiveSlots[i] = tessera_datagram(
                data: (receiveMemory + i * Self.slotSize).assumingMemoryBound(to: UInt8.self),
                capacity: UInt32(Self.slotSize), length: 0, peer: tessera_peer())
            sendSlots[i] = tessera_datagram(
                data: (sendMemory + i * Self.slotSize).assumingMemoryBound(to: UInt8.self),
                capacity: UInt32(Self.slotSize), length: 0, peer: tessera_peer())
        }
        // The source holds a reference to the mux until it is destroyed
        // (close(), or the loop's context going away).
        let src = tessera_fd_read_source_full(fd, { _, _, data in
            Unmanaged<UDPMux>.fromOpaque(data!).takeUnretainedValue().drain()
            return 1  // G_SOURCE_CONTINUE
        }, Unmanaged.passRetained(self).toOpaque(), { data in Unmanaged<UDPMux>.fromOpaque(data!).release() })!
        source = src
        g_source_attach(src, loop.gContext)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        receiveMemory.deallocate()
        sendMemory.deallocate()
        receiveSlots.deallocate()
        sendSlots.deallocate()
    }

    /// Stops reading and closes the port (on the loop). Agents still registered stop receiving.
    public func close() {
        flush()
        if let s = source {
            source = nil
            g_source_destroy(s)
            g_source_unref(s)  // may release the mux's last reference held by the source
        }
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        agents.removeAll()
        routes.removeAll()
    }

    public var sessionCount: Int { agents.count }

    // MARK: Agents

    func register(_ agent: ICELiteAgent) { agents[agent.localUfrag] = agent }

    func unregister(_ agent: ICELiteAgent) {
        if agents[agent.localUfrag] === agent { agents[agent.localUfrag] = nil }
        for address in agent.knownAddresses where routes[Self.key(address.peer)] === agent {
            routes[Self.key(address.peer)] = nil
        }
    }

    func addRoute(_ address: UDPEndpoint, to agent: ICELiteAgent) { routes[Self.key(address.peer)] = agent }
    func removeRoute(_ address: UDPEndpoint, of agent: ICELiteAgent) {
        if routes[Self.key(address.peer)] === agent { routes[Self.key(address.peer)] = nil }
    }

    @inline(__always)
    static func key(_ a: tessera_peer) -> UInt64 { UInt64(a.address) << 16 | UInt64(a.port) }

    // MARK: Receive

    /// Reads every ready datagram (the source fires once per wake-up), at most
    /// a bounded number of batches so one busy port cannot starve the loop's timers.
    private func drain() {
        batchDepth += 1
        defer {
            batchDepth -= 1
            if batchDepth == 0 { flush() }
        }
        for _ in 0..<16 {
            guard fd >= 0 else { return }
            let n = Int(tessera_udp_recv_batch(fd, receiveSlots, Int32(Self.slotCount)))
            guard n > 0 else { return }
            receivedDatagrams &+= UInt64(n)
            for i in 0..<n { dispatch(receiveSlots[i]) }
            if n < Self.slotCount { return }
        }
    }

    /// Processes one datagram as if the socket had delivered it from `peer`
    /// (fuzzing and tests; call on the loop). Answers are really sent.
    public func receive(_ bytes: [UInt8], from peer: UDPEndpoint) {
        var copy = bytes
        batch {
            copy.withUnsafeMutableBytes { buf in
                guard let base = buf.baseAddress else { return }
                dispatch(tessera_datagram(
                    data: base.assumingMemoryBound(to: UInt8.self), capacity: UInt32(buf.count), length: UInt32(buf.count), peer: peer.peer))
            }
        }
    }

    private func dispatch(_ slot: tessera_datagram) {
        let length = Int(slot.length)
        guard length <= Self.slotSize, length > 0 else { return drop(.oversize) }
        let buffer = UnsafeMutableRawBufferPointer(start: slot.data, count: length)
        let first = slot.data[0]
        if let agent = routes[Self.key(slot.peer)] {
            if first < 4 {
                handleSTUN(buffer, from: slot.peer)
            } else {
                agent.deliver(buffer, from: slot.peer)
            }
        } else if first < 4 {
            handleSTUN(buffer, from: slot.peer)
        } else {
            drop(.unknownSource)
        }
    }

    private func drop(_ reason: UDPDropReason) {
        dropped[reason, default: 0] &+= 1
        onDrop?(reason)
    }

    // MARK: ICE-lite responder (RFC 8445 §7.3, RFC 7675)

    private func handleSTUN(_ buffer: UnsafeMutableRawBufferPointer, from peer: tessera_peer) {
        let bytes = [UInt8](buffer)
        guard let message = try? STUNMessage.parse(bytes), message.fingerprintOffset == nil || message.fingerprintMatches(bytes) else {
            return drop(.malformedSTUN)
        }
        switch message.messageType {
        case .bindingRequest:
            break
        case .bindingIndication:
            return  // a keepalive (RFC 8445 §11): nothing to answer
        default:
            return drop(.unexpectedSTUN)
        }
        // USERNAME is "<our ufrag>:<their ufrag>" (RFC 8445 §7.2.2).
        guard let username = message.username, let colon = username.firstIndex(of: ":"),
              let agent = agents[String(username[..<colon])]
        else { return drop(.unknownUsername) }
        let sender = UDPEndpoint(peer: peer)
        guard let (covered, mac) = message.integrityInput(bytes),
              Self.hmacSHA1(key: agent.localPwd, covered).elementsEqual(mac)
        else {
            drop(.badIntegrity)
            var reply = STUNMessageBuilder(type: .bindingError, transactionID: message.transactionID)
            reply.appendErrorCode(401, reason: "Unauthorized")
            return answer(reply.finish(), to: sender, requestSize: bytes.count)
        }
        if !message.unknownRequiredAttributes.isEmpty {
            var reply = STUNMessageBuilder(type: .bindingError, transactionID: message.transactionID)
            reply.appendErrorCode(420, reason: "Unknown Attribute")
            return answer(reply.finish { Self.hmacSHA1(key: agent.localPwd, $0) }, to: sender, requestSize: bytes.count)
        }
        // A lite agent is always controlled (RFC 8445 §6.1.1): a peer that
        // also claims the controlled role is told to take control.
        if message.iceControlled != nil {
            var reply = STUNMessageBuilder(type: .bindingError, transactionID: message.transactionID)
            reply.appendErrorCode(487, reason: "Role Conflict")
            return answer(reply.finish { Self.hmacSHA1(key: agent.localPwd, $0) }, to: sender, requestSize: bytes.count)
        }
        var reply = STUNMessageBuilder(type: .bindingSuccess, transactionID: message.transactionID)
        withUnsafeBytes(of: peer.address) { reply.appendXorMappedAddress(ipv4: Array($0), port: sender.port) }
        answer(reply.finish { Self.hmacSHA1(key: agent.localPwd, $0) }, to: sender, requestSize: bytes.count)
        agent.checkReceived(from: sender, nominated: message.useCandidate, priority: message.priority ?? 0)
    }

    /// Never answers with more bytes than the request had: nothing a stranger
    /// sends is amplified.
    private func answer(_ reply: [UInt8], to peer: UDPEndpoint, requestSize: Int) {
        guard reply.count <= requestSize else { return drop(.unexpectedSTUN) }
        reply.withUnsafeBytes { send($0, to: peer.peer) }
    }

    /// HMAC-SHA1 keyed with an ICE password: MESSAGE-INTEGRITY's MAC (RFC 8489 §14.5).
    public static func hmacSHA1(key: String, _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let k = Array(key.utf8)
        _ = HMAC(EVP_sha1(), k, Int32(k.count), data, data.count, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    // MARK: Send

    /// Queues (inside a batch) or sends one datagram to `peer`.
    func send(_ bytes: UnsafeRawBufferPointer, to peer: tessera_peer) {
        guard fd >= 0, let base = bytes.baseAddress else { return }
        if batchDepth > 0, bytes.count <= Self.slotSize {
            if pendingSends == Self.slotCount { flush() }
            let slot = sendSlots + pendingSends
            UnsafeMutableRawPointer(slot.pointee.data).copyMemory(from: base, byteCount: bytes.count)
            slot.pointee.length = UInt32(bytes.count)
            slot.pointee.peer = peer
            pendingSends += 1
            return
        }
        let n = Int(tessera_udp_send_one(fd, base, Int32(bytes.count), peer))
        if n == bytes.count { sentDatagrams &+= 1 }
    }

    /// Runs `work` with outgoing datagrams batched: they leave together, with
    /// one `sendmmsg`, when it returns (a fan-out to many peers).
    public func batch(_ work: () -> Void) {
        batchDepth += 1
        work()
        batchDepth -= 1
        if batchDepth == 0 { flush() }
    }

    private func flush() {
        guard pendingSends > 0 else { return }
        if fd >= 0 {
            let n = tessera_udp_send_batch(fd, sendSlots, Int32(pendingSends))
            if n > 0 { sentDatagrams &+= UInt64(n) }
        }
        pendingSends = 0
    }

    // MARK: Addresses

    /// The IPv4 addresses to advertise on this port: `configured` when not
    /// empty (IPv6 entries skipped: the shared port is IPv4), else every
    /// non-loopback IPv4 interface address that is up.
    public static func advertisedAddresses(configured: [String]) -> [String] {
        if !configured.isEmpty { return configured.filter { ICESettings.isIPAddress($0, v6: false) } }
        return nonLoopbackIPv4Addresses()
    }
}
