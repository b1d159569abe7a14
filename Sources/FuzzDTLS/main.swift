// libFuzzer target: DTLS records fed to the handshake (DTLSSession on
// OpenSSL). The first input byte picks the mode:
// - even: the rest, cut into datagrams by 2-byte big-endian lengths, goes to
//   a fresh server-side session, as datagrams from a stranger would;
// - odd: a real client and a real server shake hands in memory, and every
//   datagram from the client is XORed with the next input bytes on its way
//   (so the fuzzer mutates genuine ClientHellos, key exchanges and finished
//   messages and reaches the deep states of the handshake).
// No input may trap; a session that fails must say why.
import FuzzDriver
import Transport

enum Harness {
    static let loop = MediaLoop(index: 0, name: "fuzz")
    static let server = try! DTLSCertificate(keyType: .ecdsa)  // a fuzz harness without a certificate cannot run
    static let client = try! DTLSCertificate(keyType: .ecdsa)
}

/// Datagrams each side sent, collected by the sessions' send callbacks (on the loop).
final class Wire {
    var toServer: [[UInt8]] = []
    var toClient: [[UInt8]] = []
}

func run(_ input: [UInt8]) {
    let wire = Wire()
    let fingerprints = { (c: DTLSCertificate) in [(algorithm: "sha-256", value: c.fingerprintSHA256)] }
    guard let server = try? DTLSSession(
        certificate: Harness.server, role: .server, remoteFingerprints: fingerprints(Harness.client), loop: Harness.loop,
        send: { wire.toClient.append(Array($0)) })
    else { return }
    server.start()
    guard let mode = input.first else { return }
    var rest = input.dropFirst()
    if mode & 1 == 0 {
        while rest.count >= 2 {
            let n = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
            rest = rest.dropFirst(2)
            let datagram = Array(rest.prefix(n))
            rest = rest.dropFirst(datagram.count)
            datagram.withUnsafeBytes { server.receive($0) }
        }
    } else {
        guard let client = try? DTLSSession(
            certificate: Harness.client, role: .client, remoteFingerprints: fingerprints(Harness.server), loop: Harness.loop,
            send: { wire.toServer.append(Array($0)) })
        else { return }
        client.start()
        var mask = Array(rest)
        for _ in 0..<8 {
            let outgoing = wire.toServer
            wire.toServer.removeAll()
            for var datagram in outgoing {
                for i in datagram.indices where !mask.isEmpty { datagram[i] ^= mask.removeFirst() }
                datagram.withUnsafeBytes { server.receive($0) }
            }
            let replies = wire.toClient
            wire.toClient.removeAll()
            for datagram in replies { datagram.withUnsafeBytes { client.receive($0) } }
            if outgoing.isEmpty && replies.isEmpty { break }
        }
        if client.state == .failed { precondition(client.failure != nil, "a failed session must say why") }
        client.close()
    }
    if server.state == .failed { precondition(server.failure != nil, "a failed session must say why") }
    server.close()
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let input = LoopBound(Array(UnsafeBufferPointer(start: data, count: count)))
    Harness.loop.sync { run(input.value) }  // timers and callbacks belong to the loop
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
