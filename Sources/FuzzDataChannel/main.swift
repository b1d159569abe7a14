// libFuzzer target: what a peer can put inside its SCTP association: DCEP
// messages (RFC 8832) and data on any stream with any payload protocol id,
// into a DataChannelSet (channels opened, acknowledged, closed by stream
// resets, messages delivered), and every DCEP OPEN that parses must encode
// back to itself. The input is cut into records: stream (2 bytes), a control
// byte (low 3 bits pick the PPID or an event), a length byte, then the bytes.
// No input may trap, and no more channels than streams may ever be open.
import FuzzDriver
import Transport

enum Harness {
    static let loop = MediaLoop(index: 0, name: "fuzz")
}

let ppids: [UInt32] = [50, 51, 53, 56, 57, 52, 54, 99]

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    if let message = DCEPMessage(bytes), case .open = message {
        precondition(DCEPMessage(message.bytes) == message, "a parsed OPEN does not encode back to itself")
    }
    _ = Harness.loop.sync { () -> Int in
        // Not started: whatever it answers goes nowhere (no association), as before DTLS is up.
        let set = DataChannelSet(loop: Harness.loop, isDTLSClient: count & 1 == 0)
        var delivered = 0
        set.onMessage = { _, _, _ in delivered += 1 }
        var rest = bytes[...]
        while rest.count >= 4 {
            let stream = UInt16(rest[rest.startIndex]) << 8 | UInt16(rest[rest.startIndex + 1])
            let control = rest[rest.startIndex + 2]
            let n = Int(rest[rest.startIndex + 3])
            rest = rest.dropFirst(4)
            let payload = Array(rest.prefix(n))
            rest = rest.dropFirst(payload.count)
            switch control & 0x18 {
            case 0x08: set.event(.incomingReset(stream))
            case 0x10 where control & 0x20 != 0: set.event(.down)
            case 0x18: _ = set.create(label: "l", ordered: control & 0x40 == 0, reliability: .reliable, protocol: "")
            default: set.received(stream: stream, ppid: ppids[Int(control & 0x07)], payload)
            }
            precondition(set.channels.count <= Int(DataChannelSet.maxStreams), "more channels than streams")
        }
        set.close()
        precondition(set.channels.isEmpty, "channels left after close")
        return delivered
    }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
