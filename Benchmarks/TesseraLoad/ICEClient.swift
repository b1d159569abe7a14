import CNetIO
import CNice
import Foundation
import Glibc
import Logging
import STUN
import Transport

/// A full-ICE controlling agent of our own for the generator's peers: one
/// host candidate on a socket of its own (the server tells peers apart by
/// 5-tuple), connectivity checks with aggressive nomination (USE-CANDIDATE on
/// every check, RFC 8445 §8.1.1 allows it) retransmitted every 50 ms until one
/// succeeds, answers to the server's own checks (a full-ICE server such as
/// Janus sends them), and a consent check every 5 s (RFC 7675). To the server
/// it looks like any full agent: authenticated checks from the address media
/// comes from. Not Sendable: made, used and closed on its loop.
final class ICEClient: ICETransport {
    private let sockets: SocketSet
    private let logger: Logger
    private var fd: Int32
    private let local: UDPEndpoint
    var settings: ICESettings
    let localUfrag = ICELiteAgent.randomICEString(length: 8)
    let localPwd = ICELiteAgent.randomICEString(length: 24)
    var isLite: Bool { false }
    var sdpCandidates: [String] { [] }
    private(set) var state: ICEState = .disconnected

    var onCandidate: ((String) -> Void)?
    var onGatheringDone: (() -> Void)?
    var onStateChange: ((ICEState) -> Void)?
    var onSelectedPair: ((String, String) -> Void)?
    var onReceive: ((UnsafeMutableRawBufferPointer) -> Void)?

    private var remoteUfrag: String?
    private var remotePwd: String?
    private var remotes: [UDPEndpoint] = []
    private var selected: UDPEndpoint?
    private var selectedRaw = tessera_peer()
    private var checks: [[UInt8]: UDPEndpoint] = [:]
    private var timer: LoopTimer?
    private var started = ContinuousClock.now
    private var gathered = false
    private var closed = false
    private let tieBreaker = UInt64.max - UInt64.random(in: 0...0xFFFF)

    init(set: SocketSet, settings: ICESettings, logger: Logger) throws {
        self.sockets = set
        self.settings = settings
        self.logger = logger
        let host = settings.hostAddresses.first { ICESettings.isIPAddress($0, v6: false) }
            ?? nonLoopbackIPv4Addresses().first ?? "127.0.0.1"
        guard let address = UDPEndpoint(host: host, port: 0) else { throw ICEError(description: "not an IPv4 address: \(host)") }
        let sock = tessera_udp_open(inet_addr(host), 0, 1 << 18)
        guard sock >= 0 else { throw ICEError(description: "cannot bind UDP on \(host): \(String(cString: strerror(-sock)))") }
        fd = sock
        local = UDPEndpoint(host: host, port: UInt16(clamping: tessera_udp_local_port(sock))) ?? address
        set.add(fd) { [unowned self] in self.readable() }
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        sockets.remove(fd)
        Glibc.close(fd)
        fd = -1
    }

    func tick() {}

    func setRemoteCredentials(ufrag: String, pwd: String) {
        remoteUfrag = ufrag
        remotePwd = pwd
        startChecks()
    }

    /// Our one host candidate, reported from the loop after the caller returns.
    func gather() throws(ICEError) {
        guard !gathered else { return }
        gathered = true
        let candidate = "candidate:1 1 UDP 2130706431 \(local.host) \(local.port) typ host"
        loop.later { [weak self] in
            self?.onCandidate?(candidate)
            self?.onGatheringDone?()
        }
    }

    private var loop: MediaLoop { sockets.loop }

    func addRemoteCandidate(_ sdp: String) throws(ICEError) {
        let text = sdp.hasPrefix("a=") ? String(sdp.dropFirst(2)) : sdp
        guard !text.isEmpty else { return }
        let f = text.split(separator: " ")
        guard f.count >= 8, f[2].lowercased() == "udp", let port = UInt16(f[5]) else { return }  // TCP and the rest: skipped
        guard let address = UDPEndpoint(host: String(f[4]), port: port) else { return }  // IPv6: not ours
        if !remotes.contains(address) { remotes.append(address) }
        startChecks()
    }

    @discardableResult
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard selected != nil, fd >= 0 else { return false }
        send(bytes, to: selectedRaw)
        return true
    }

    private func send(_ bytes: UnsafeRawBufferPointer, to: UDPEndpoint) { send(bytes, to: to.peer) }

    private func send(_ bytes: UnsafeRawBufferPointer, to address: tessera_peer) {
        guard let base = bytes.baseAddress else { return }
        _ = tessera_udp_send_one(fd, base, Int32(bytes.count), address)
    }

    // MARK: Checks

    private func startChecks() {
        guard timer == nil, remotePwd != nil, !remotes.isEmpty, !closed else { return }
        started = .now
        setState(.connecting)
        pace(after: .zero)
    }

    private func pace(after delay: Duration) {
        timer = LoopTimer(loop: loop, after: delay) { [weak self] in self?.checkRound() }
    }

    /// Until a check succeeds: one check to every remote candidate each 50 ms
    /// (10 s in all). Then a consent check every 5 s.
    private func checkRound() {
        guard !closed else { return }
        if let selected {
            sendCheck(to: selected)
            pace(after: .seconds(5))
            return
        }
        if ContinuousClock.now - started > .seconds(10) {
            setState(.failed)
            return
        }
        for r in remotes { sendCheck(to: r) }
        pace(after: .milliseconds(50))
    }

    private func sendCheck(to remote: UDPEndpoint) {
        guard let remoteUfrag, let remotePwd else { return }
        let tx = (0..<12).map { _ in UInt8.random(in: 0...255) }
        if checks.count > 64 { checks.removeAll() }
        checks[tx] = remote
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: tx)
        b.append(.username, Array("\(remoteUfrag):\(localUfrag)".utf8))
        b.append(.priority, [0x6E, 0x7F, 0xFF, 0xFF])
        b.append(.iceControlling, (0..<8).map { UInt8(truncatingIfNeeded: tieBreaker >> (56 - 8 * $0)) })
        b.append(.useCandidate, [])
        b.finish { UDPMux.hmacSHA1(key: remotePwd, $0) }.withUnsafeBytes { send($0, to: remote) }
    }

    // MARK: Receive

    private func readable() {
        while fd >= 0 {
            let n = Int(tessera_udp_recv_batch(fd, sockets.slots, 16))
            guard n > 0 else { return }
            for i in 0..<n {
                let slot = sockets.slots[i]
                guard slot.length <= slot.capacity, slot.length > 0 else { continue }
                let buffer = UnsafeMutableRawBufferPointer(start: slot.data, count: Int(slot.length))
                if slot.data[0] < 4 {
                    stun(Array(buffer), from: UDPEndpoint(peer: slot.peer))
                } else {
                    onReceive?(buffer)
                }
                if closed { return }
            }
            if n < 16 { return }
        }
    }

    private func stun(_ bytes: [UInt8], from: UDPEndpoint) {
        guard let m = try? STUNMessage.parse(bytes) else { return }
        switch m.messageType {
        case .bindingRequest:
            // The server's own check (full-ICE servers send them): answer it.
            guard let (covered, mac) = m.integrityInput(bytes), UDPMux.hmacSHA1(key: localPwd, covered).elementsEqual(mac) else { return }
            var reply = STUNMessageBuilder(type: .bindingSuccess, transactionID: m.transactionID)
            let ip = from.host.split(separator: ".").compactMap { UInt8($0) }
            if ip.count == 4 { reply.appendXorMappedAddress(ipv4: ip, port: from.port) }
            reply.finish { UDPMux.hmacSHA1(key: self.localPwd, $0) }.withUnsafeBytes { send($0, to: from) }
        case .bindingSuccess:
            guard let target = checks.removeValue(forKey: m.transactionID), let remotePwd,
                  let (covered, mac) = m.integrityInput(bytes), UDPMux.hmacSHA1(key: remotePwd, covered).elementsEqual(mac)
            else { return }
            guard selected == nil else { return }
            selected = target
            selectedRaw = target.peer
            setState(.connected)
            onSelectedPair?("candidate:1 1 UDP 2130706431 \(local.host) \(local.port) typ host",
                            "candidate:1 1 UDP 2130706431 \(target.host) \(target.port) typ host")
            setState(.ready)
            timer?.cancel()
            pace(after: .seconds(5))
        default:
            return
        }
    }

    private func setState(_ s: ICEState) {
        guard s != state else { return }
        state = s
        onStateChange?(s)
    }
}
