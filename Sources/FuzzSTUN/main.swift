// libFuzzer target: the STUN codec and the ICE-lite responder of a shared
// media port (UDPMux + ICELiteAgent). The first input byte picks the sender
// (one of 16 loopback ports) and whether the harness signs the message with
// the agent's real password (so the fuzzer reaches the authenticated paths:
// routes, nominations, moves, data delivery); the rest is the datagram.
// No input may trap, and no answer may be bigger than its request.
import FuzzDriver
import Logging
import STUN
import Transport

/// The port and its one agent, made once (statics: a C callback cannot capture).
enum Harness {
    static let loop = MediaLoop(index: 0, name: "fuzz")
    static let made: LoopBound<(UDPMux, ICELiteAgent)> = {
        let l = loop
        let result = l.sync { () -> LoopBound<(UDPMux, ICELiteAgent)>? in
            var settings = ICESettings()
            settings.hostAddresses = ["127.0.0.1"]
            guard let mux = try? UDPMux(loop: l, host: "127.0.0.1", port: 0) else { return nil }
            let agent = ICELiteAgent(mux: mux, settings: settings, logger: Logger(label: "fuzz"))
            agent.onReceive = { _ in }
            return LoopBound((mux, agent))
        }
        guard let result else { fatalError("cannot open the shared port") }
        return result
    }()
    static let credentials: (ufrag: String, pwd: String) = {
        let m = made
        return loop.sync { LoopBound((m.value.1.localUfrag, m.value.1.localPwd)) }.value
    }()
}

/// The message re-signed with the agent's password, its USERNAME pointed at the agent when `retarget`.
func signed(_ message: STUNMessage, retarget: Bool) -> [UInt8]? {
    guard let type = message.messageType, message.transactionID.count == 12 else { return nil }
    var b = STUNMessageBuilder(type: type, transactionID: message.transactionID)
    for a in message.attributes {
        if retarget, a.type == STUNMessage.Attribute.username.rawValue {
            b.append(.username, Array("\(Harness.credentials.ufrag):fz".utf8))
        } else {
            b.append(type: a.type, Array(a.value.prefix(512)))
        }
    }
    let pwd = Harness.credentials.pwd
    return b.finish { UDPMux.hmacSHA1(key: pwd, $0) }
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data, count >= 1 else { return 0 }
    let flags = data[0]
    var datagram = Array(UnsafeBufferPointer(start: data + 1, count: count - 1))
    if let m = try? STUNMessage.parse(datagram) {
        _ = m.fingerprintMatches(datagram)
        _ = m.integrityInput(datagram)
        _ = (m.username, m.priority, m.useCandidate, m.iceControlling, m.iceControlled, m.unknownRequiredAttributes)
        if flags & 1 != 0, let s = signed(m, retarget: flags & 2 != 0) { datagram = s }
    }
    guard datagram.count <= 2048, let from = UDPEndpoint(host: "127.0.0.1", port: 40000 + UInt16(flags >> 4)) else { return 0 }
    let input = LoopBound(datagram)
    let made = Harness.made
    Harness.loop.sync { made.value.0.receive(input.value, from: from) }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
