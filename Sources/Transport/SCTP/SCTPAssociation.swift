import CSCTP
import Foundation

/// One SCTP association carried over DTLS (RFC 8261), the transport of WebRTC
/// data channels (RFC 8831), with usrsctp in AF_CONN mode: our packets go to
/// `onSend`, the peer's come in through `input`. Lives on its media loop like
/// the DTLS session it rides on; usrsctp calls back on its own threads, and
/// those calls are posted to the loop (SCTPRouter), so every callback here
/// runs on the loop.
public final class SCTPAssociation {
    public enum Event: Sendable, Equatable {
        case up, down
        /// The peer reset its outgoing stream: the channel on it is closing.
        case incomingReset(UInt16)
        /// Our reset of a stream completed.
        case outgoingReset(UInt16)
    }

    /// How a message is retransmitted (RFC 8831 §6.1, partial reliability RFC 3758).
    public enum Reliability: Sendable, Equatable {
        case reliable
        case maxRetransmits(UInt32)
        case maxLifetime(milliseconds: UInt32)
    }

    /// SCTP packets to send over DTLS.
    public var onSend: ((UnsafeRawBufferPointer) -> Void)?
    /// A whole message: stream, payload protocol identifier, bytes.
    public var onMessage: ((UInt16, UInt32, [UInt8]) -> Void)?
    public var onEvent: ((Event) -> Void)?
    public private(set) var isUp = false

    /// SCTP packets leave inside DTLS records over UDP: 1200 bytes with room for DTLS's own overhead.
    public static let mtu: UInt32 = 1_150

    let loop: MediaLoop
    let id: UInt
    private var handle: UnsafeMutableRawPointer?
    private var partial: [UInt16: [UInt8]] = [:]
    /// The most a message may hold when it arrives in parts (what we announce in SDP).
    public var maxMessageSize = 262_144

    public init(loop: MediaLoop) {
        self.loop = loop
        SCTPRouter.start()
        id = SCTPRouter.shared.register(loop: loop)
        SCTPRouter.shared.attach(id, self)
    }

    deinit {
        close()
    }

    /// Opens the association once DTLS is up: binds `localPort` and connects
    /// to the peer's `remotePort` (both sides connect; SCTP joins the two).
    @discardableResult
    public func start(localPort: UInt16, remotePort: UInt16) -> Bool {
        guard !closed else { return false }
        guard handle == nil else { return true }
        handle = tessera_sctp_open(UInt(id), localPort, remotePort, Self.mtu)
        return handle != nil
    }

    /// An SCTP packet from the peer (a DTLS application data record).
    public func input(_ packet: UnsafeRawBufferPointer) {
        guard handle != nil, let base = packet.baseAddress, !packet.isEmpty else { return }
        tessera_sctp_input(UInt(id), base, packet.count)
    }

    /// Sends one message; returns 0 or an errno value (EAGAIN when usrsctp's send buffer is full).
    @discardableResult
    public func send(stream: UInt16, ppid: UInt32, unordered: Bool, reliability: Reliability, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let handle else { return ENOTCONN }
        let (policy, value): (Int32, UInt32) = switch reliability {
        case .reliable: (0, 0)
        case .maxRetransmits(let n): (1, n)
        case .maxLifetime(let ms): (2, ms)
        }
        var dummy: UInt8 = 0
        let base = bytes.baseAddress ?? UnsafeRawPointer(withUnsafePointer(to: &dummy) { UnsafeRawPointer($0) })
        return tessera_sctp_send(handle, stream, ppid, unordered ? 1 : 0, policy, value, base, bytes.count)
    }

    /// Resets our outgoing stream (RFC 6525), which closes the channel on it (RFC 8831 §6.7).
    public func resetStream(_ stream: UInt16) {
        guard let handle else { return }
        _ = tessera_sctp_reset_stream(handle, stream)
    }

    /// Ends the association (an ABORT if it was up) and forgets its id; idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        SCTPRouter.shared.remove(id)
        tessera_sctp_close(handle, UInt(id))
        handle = nil
        isUp = false
        partial.removeAll()
    }
    private var closed = false

    // Called on the loop by the router.

    func deliverOutput(_ packet: [UInt8]) {
        packet.withUnsafeBytes { onSend?($0) }
    }

    func deliverMessage(stream: UInt16, ppid: UInt32, complete: Bool, _ bytes: [UInt8]) {
        if !complete || partial[stream] != nil {
            var buffer = partial[stream] ?? []
            guard buffer.count + bytes.count <= maxMessageSize else {
                partial[stream] = nil  // too large: dropped rather than grown without bound
                return
            }
            buffer += bytes
            if !complete {
                partial[stream] = buffer
                return
            }
            partial[stream] = nil
            onMessage?(stream, ppid, buffer)
        } else {
            onMessage?(stream, ppid, bytes)
        }
    }

    func deliverEvent(_ event: Event) {
        switch event {
        case .up: isUp = true
        case .down: isUp = false
        default: break
        }
        onEvent?(event)
    }
}

/// Routes usrsctp's callbacks, which come on its threads (or inside our own
/// calls into it), to the association's loop, by the id usrsctp knows it by.
/// An id removed stays dead: late callbacks for it are dropped.
final class SCTPRouter: @unchecked Sendable {
    static let shared = SCTPRouter()

    private final class Route: @unchecked Sendable {
        let loop: MediaLoop
        weak var association: SCTPAssociation?  // read and written on `loop` only
        init(loop: MediaLoop) { self.loop = loop }
    }

    private let lock = NSLock()
    private var routes: [UInt: Route] = [:]
    private var nextID: UInt = 1

    static func start() {
        tessera_sctp_init(
            { id, data, length in
                guard let data else { return }
                SCTPRouter.shared.post(UInt(id)) { $0.deliverOutput(Array(UnsafeRawBufferPointer(start: data, count: length))) }
            },
            { id, stream, ppid, complete, data, length in
                let bytes = data.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
                SCTPRouter.shared.post(UInt(id)) { $0.deliverMessage(stream: stream, ppid: ppid, complete: complete != 0, bytes) }
            },
            { id, event, stream in
                let e: SCTPAssociation.Event? = switch Int(event) {
                case Int(TESSERA_SCTP_EVENT_UP): .up
                case Int(TESSERA_SCTP_EVENT_DOWN): .down
                case Int(TESSERA_SCTP_EVENT_INCOMING_RESET): .incomingReset(stream)
                case Int(TESSERA_SCTP_EVENT_OUTGOING_RESET): .outgoingReset(stream)
                default: nil
                }
                guard let e else { return }
                SCTPRouter.shared.post(UInt(id)) { $0.deliverEvent(e) }
            })
    }

    func register(loop: MediaLoop) -> UInt {
        lock.lock()
        defer { lock.unlock() }
        let id = nextID
        nextID += 1
        routes[id] = Route(loop: loop)
        return id
    }

    /// Sets the association of a route (on its loop, right after register).
    func attach(_ id: UInt, _ association: SCTPAssociation) {
        lock.lock()
        let route = routes[id]
        lock.unlock()
        route?.association = association
    }

    func remove(_ id: UInt) {
        lock.lock()
        routes[id] = nil
        lock.unlock()
    }

    private func post(_ id: UInt, _ work: @escaping (SCTPAssociation) -> Void) {
        lock.lock()
        let route = routes[id]
        lock.unlock()
        guard let route else { return }
        let box = UncheckedWork(work)
        route.loop.post {
            guard let association = route.association, SCTPRouter.shared.isLive(id) else { return }
            box.work(association)
        }
    }

    private func isLive(_ id: UInt) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return routes[id] != nil
    }
}

/// A closure handed to the association's loop, where it runs; the values it
/// captured were copied out of usrsctp's buffers before.
private final class UncheckedWork: @unchecked Sendable {
    let work: (SCTPAssociation) -> Void
    init(_ work: @escaping (SCTPAssociation) -> Void) { self.work = work }
}
