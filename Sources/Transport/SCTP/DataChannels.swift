import Foundation

/// One WebRTC data channel (RFC 8831) as both ends agreed it through DCEP (RFC 8832).
public struct DataChannelInfo: Sendable, Equatable {
    /// The SCTP stream, which is also Kurento's `channelId`.
    public var id: UInt16
    public var label: String
    public var `protocol`: String
    public var ordered: Bool
    public var reliability: SCTPAssociation.Reliability
    public var open: Bool
    public var messagesSent: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var messagesReceived: UInt64 = 0
    public var bytesReceived: UInt64 = 0
}

/// DCEP messages (RFC 8832 §5), on payload protocol identifier 50.
public enum DCEPMessage: Sendable, Equatable {
    case open(channelType: UInt8, priority: UInt16, reliabilityParameter: UInt32, label: String, protocol: String)
    case ack

    /// Payload protocol identifiers (RFC 8831 §8, RFC 8832 §8.1).
    public static let ppidDCEP: UInt32 = 50
    public static let ppidString: UInt32 = 51
    public static let ppidBinary: UInt32 = 53
    public static let ppidStringEmpty: UInt32 = 56
    public static let ppidBinaryEmpty: UInt32 = 57
    /// Deprecated partial forms some old stacks still send.
    public static let ppidBinaryPartial: UInt32 = 52
    public static let ppidStringPartial: UInt32 = 54

    public init?(_ bytes: [UInt8]) {
        guard let type = bytes.first else { return nil }
        switch type {
        case 0x02:
            self = .ack
        case 0x03:
            guard bytes.count >= 12 else { return nil }
            let labelLength = Int(bytes[8]) << 8 | Int(bytes[9])
            let protocolLength = Int(bytes[10]) << 8 | Int(bytes[11])
            guard bytes.count >= 12 + labelLength + protocolLength else { return nil }
            let priority = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
            let parameter = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
            let label = String(decoding: bytes[12..<(12 + labelLength)], as: UTF8.self)
            let proto = String(decoding: bytes[(12 + labelLength)..<(12 + labelLength + protocolLength)], as: UTF8.self)
            self = .open(channelType: bytes[1], priority: priority, reliabilityParameter: parameter, label: label, protocol: proto)
        default:
            return nil
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .ack:
            return [0x02]
        case .open(let channelType, let priority, let parameter, let label, let proto):
            let l = Array(label.utf8), p = Array(proto.utf8)
            return [0x03, channelType, UInt8(priority >> 8), UInt8(priority & 0xFF),
                    UInt8(parameter >> 24), UInt8(parameter >> 16 & 0xFF), UInt8(parameter >> 8 & 0xFF), UInt8(parameter & 0xFF),
                    UInt8(l.count >> 8 & 0xFF), UInt8(l.count & 0xFF), UInt8(p.count >> 8 & 0xFF), UInt8(p.count & 0xFF)] + l + p
        }
    }

    /// Channel type (RFC 8832 §5.1): bit 7 unordered; low bits 0 reliable, 1 retransmissions, 2 lifetime.
    public static func channelType(ordered: Bool, reliability: SCTPAssociation.Reliability) -> (UInt8, UInt32) {
        let unordered: UInt8 = ordered ? 0 : 0x80
        switch reliability {
        case .reliable: return (unordered, 0)
        case .maxRetransmits(let n): return (unordered | 0x01, n)
        case .maxLifetime(let ms): return (unordered | 0x02, ms)
        }
    }

    public static func reliability(channelType: UInt8, parameter: UInt32) -> (ordered: Bool, SCTPAssociation.Reliability) {
        let ordered = channelType & 0x80 == 0
        switch channelType & 0x7F {
        case 0x01: return (ordered, .maxRetransmits(parameter))
        case 0x02: return (ordered, .maxLifetime(milliseconds: parameter))
        default: return (ordered, .reliable)
        }
    }
}

/// The data channels of one WebRTC transport: DCEP on top of an SCTP
/// association, channels opened by either side, messages in and out. On the
/// media loop, as its association.
public final class DataChannelSet {
    public let sctp: SCTPAssociation
    /// The DTLS client takes even stream ids, the server odd ones (RFC 8832 §6).
    public let isDTLSClient: Bool
    public private(set) var channels: [UInt16: DataChannelInfo] = [:]
    /// A channel opened (by the peer, or ours once acknowledged).
    public var onOpen: ((DataChannelInfo) -> Void)?
    public var onClose: ((UInt16) -> Void)?
    /// A message on an open channel: channel id, binary (or text), bytes.
    public var onMessage: ((UInt16, Bool, [UInt8]) -> Void)?
    /// Streams each way (what our SCTP INIT asks for; usrsctp refuses data beyond what both agreed).
    public static let maxStreams: UInt16 = 1024
    /// Channels asked for before the association came up.
    private var pendingOpen: [UInt16] = []
    private var nextLocalID: UInt16

    public init(loop: MediaLoop, isDTLSClient: Bool) {
        sctp = SCTPAssociation(loop: loop)
        self.isDTLSClient = isDTLSClient
        nextLocalID = isDTLSClient ? 0 : 1
        sctp.onMessage = { [unowned self] stream, ppid, bytes in self.received(stream: stream, ppid: ppid, bytes) }
        sctp.onEvent = { [unowned self] event in self.event(event) }
    }

    public func close() {
        for id in channels.keys.sorted() { finish(id) }
        sctp.close()
    }

    /// Opens a channel of ours (Kurento's `createDataChannel`); its id, or nil when none is free.
    @discardableResult
    public func create(label: String, ordered: Bool, reliability: SCTPAssociation.Reliability, protocol proto: String) -> UInt16? {
        while nextLocalID < Self.maxStreams, channels[nextLocalID] != nil { nextLocalID += 2 }
        guard nextLocalID < Self.maxStreams else { return nil }
        let id = nextLocalID
        nextLocalID += 2
        channels[id] = DataChannelInfo(id: id, label: label, protocol: proto, ordered: ordered, reliability: reliability, open: false)
        if sctp.isUp { sendOpen(id) } else { pendingOpen.append(id) }
        return id
    }

    /// Closes a channel: our stream is reset, the peer resets its own (RFC 8831 §6.7).
    public func close(channel id: UInt16) -> Bool {
        guard channels[id] != nil else { return false }
        sctp.resetStream(id)
        finish(id)
        return true
    }

    /// Sends a message on an open channel (an empty one as RFC 8831 §6.6 says); errno or 0.
    @discardableResult
    public func send(channel id: UInt16, binary: Bool, _ bytes: [UInt8]) -> Int32 {
        guard var c = channels[id], c.open else { return ENOTCONN }
        let ppid = bytes.isEmpty ? (binary ? DCEPMessage.ppidBinaryEmpty : DCEPMessage.ppidStringEmpty)
            : (binary ? DCEPMessage.ppidBinary : DCEPMessage.ppidString)
        let payload = bytes.isEmpty ? [0] : bytes
        let r = payload.withUnsafeBytes { sctp.send(stream: id, ppid: ppid, unordered: !c.ordered, reliability: c.reliability, $0) }
        if r == 0 {
            c.messagesSent += 1
            c.bytesSent += UInt64(bytes.count)
            channels[id] = c
        }
        return r
    }

    private func sendOpen(_ id: UInt16) {
        guard let c = channels[id] else { return }
        let (type, parameter) = DCEPMessage.channelType(ordered: c.ordered, reliability: c.reliability)
        let open = DCEPMessage.open(channelType: type, priority: 256, reliabilityParameter: parameter, label: c.label, protocol: c.protocol)
        sendDCEP(open, on: id)
    }

    /// DCEP messages go ordered and reliable (RFC 8832 §6).
    private func sendDCEP(_ message: DCEPMessage, on id: UInt16) {
        _ = message.bytes.withUnsafeBytes { sctp.send(stream: id, ppid: DCEPMessage.ppidDCEP, unordered: false, reliability: .reliable, $0) }
    }

    package func event(_ event: SCTPAssociation.Event) {
        switch event {
        case .up:
            let pending = pendingOpen
            pendingOpen.removeAll()
            for id in pending { sendOpen(id) }
        case .down:
            for id in channels.keys.sorted() { finish(id) }
        case .incomingReset(let id):
            // The peer closed the channel: reset our side too, once.
            if channels[id] != nil {
                sctp.resetStream(id)
                finish(id)
            }
        case .outgoingReset:
            break
        }
    }

    private func finish(_ id: UInt16) {
        guard channels.removeValue(forKey: id) != nil else { return }
        pendingOpen.removeAll { $0 == id }
        onClose?(id)
    }

    package func received(stream id: UInt16, ppid: UInt32, _ bytes: [UInt8]) {
        if ppid == DCEPMessage.ppidDCEP {
            guard let message = DCEPMessage(bytes) else { return }
            switch message {
            case .open(let type, _, let parameter, let label, let proto):
                // A peer's channel on a stream of its parity; a clash with one of ours loses (dropped).
                guard channels[id] == nil, id < Self.maxStreams else { return }
                let (ordered, reliability) = DCEPMessage.reliability(channelType: type, parameter: parameter)
                let c = DataChannelInfo(id: id, label: label, protocol: proto, ordered: ordered, reliability: reliability, open: true)
                channels[id] = c
                sendDCEP(.ack, on: id)
                onOpen?(c)
            case .ack:
                guard var c = channels[id], !c.open else { return }
                c.open = true
                channels[id] = c
                onOpen?(c)
            }
            return
        }
        guard var c = channels[id] else { return }
        if !c.open {
            // Data before the ACK means the peer took our OPEN (RFC 8832 §6).
            c.open = true
            channels[id] = c
            onOpen?(c)
        }
        let binary: Bool
        var payload = bytes
        switch ppid {
        case DCEPMessage.ppidString, DCEPMessage.ppidStringPartial: binary = false
        case DCEPMessage.ppidBinary, DCEPMessage.ppidBinaryPartial: binary = true
        case DCEPMessage.ppidStringEmpty: binary = false; payload = []
        case DCEPMessage.ppidBinaryEmpty: binary = true; payload = []
        default: return
        }
        c.messagesReceived += 1
        c.bytesReceived += UInt64(payload.count)
        channels[id] = c
        onMessage?(id, binary, payload)
    }
}
