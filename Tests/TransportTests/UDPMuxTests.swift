import Foundation
import Glibc
import Logging
import STUN
import Testing
@testable import Transport

/// The ICE-lite responder on a loop's shared port, driven by plain UDP
/// sockets standing in for peers.
@Suite(.serialized) struct UDPMuxTests {
    /// A blocking client socket on 127.0.0.1 with a short receive timeout.
    final class Peer {
        let fd: Int32
        let port: UInt16
        init() {
            let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
            var tv = timeval(tv_sec: 0, tv_usec: 300_000)
            setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            fd = sock
            port = UInt16(bigEndian: a.sin_port)
        }
        deinit { close(fd) }
        func send(_ bytes: [UInt8], to port: UInt16) {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            a.sin_port = port.bigEndian
            _ = bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                } }
            }
        }
        func receive() -> [UInt8]? {
            var buf = [UInt8](repeating: 0, count: 2048)
            let n = recv(fd, &buf, buf.count, 0)
            return n < 0 ? nil : Array(buf.prefix(n))
        }
    }

    /// What one agent saw, collected on the loop.
    final class Seen: @unchecked Sendable {
        let lock = NSLock()
        var states: [ICEState] = []
        var pairs: [String] = []
        var data: [[UInt8]] = []
        var candidates: [String] = []
        func add(_ f: (Seen) -> Void) { lock.lock(); f(self); lock.unlock() }
        func read<T>(_ f: (Seen) -> T) -> T { lock.lock(); defer { lock.unlock() }; return f(self) }
    }

    struct Fixture {
        /// The loop's clock: tests move time on instead of sleeping.
        let clock = ManualMediaClock()
        let loop: MediaLoop
        let mux: LoopBound<UDPMux>
        let agent: LoopBound<ICELiteAgent>
        let ufrag: String
        let pwd: String
        let seen = Seen()

        init(gather: Bool = true) throws {
            loop = MediaLoop(index: 0, name: "mux-test", clock: clock)
            let settings = { var s = ICESettings(); s.hostAddresses = ["127.0.0.1"]; return s }()
            let loop = self.loop
            let seen = self.seen
            let made = try loop.sync { () -> Result<(LoopBound<UDPMux>, LoopBound<ICELiteAgent>), UDPError> in
                do throws(UDPError) {
                    let mux = try UDPMux(loop: loop, host: "127.0.0.1", port: 0)
                    let agent = ICELiteAgent(mux: mux, settings: settings, logger: Logger(label: "test"))
                    agent.onStateChange = { s in seen.add { $0.states.append(s) } }
                    agent.onSelectedPair = { _, r in seen.add { $0.pairs.append(r) } }
                    agent.onReceive = { b in let bytes = Array(b); seen.add { $0.data.append(bytes) } }
                    agent.onCandidate = { c in seen.add { $0.candidates.append(c) } }
                    agent.setRemoteCredentials(ufrag: "peer", pwd: "peerpasswordpeerpassword")
                    if gather { try? agent.gather() }
                    return .success((LoopBound(mux), LoopBound(agent)))
                } catch { return .failure(error) }
            }.get()
            mux = made.0
            agent = made.1
            ufrag = loop.sync { made.1.value.localUfrag }
            pwd = loop.sync { made.1.value.localPwd }
        }

        var port: UInt16 { mux.value.port }

        func check(user: String? = nil, pwd: String? = nil, useCandidate: Bool = false, controlled: Bool = false, tx: UInt8 = 1) -> [UInt8] {
            var b = STUNMessageBuilder(type: .bindingRequest, transactionID: Array(repeating: tx, count: 12))
            b.append(.username, Array((user ?? "\(ufrag):peer").utf8))
            b.append(.priority, [0x6E, 0x7F, 0x00, 0xFF])
            if controlled { b.append(.iceControlled, Array(repeating: 1, count: 8)) } else { b.append(.iceControlling, Array(repeating: 2, count: 8)) }
            if useCandidate { b.append(.useCandidate, []) }
            let key = pwd ?? self.pwd
            return b.finish { UDPMux.hmacSHA1(key: key, $0) }
        }

        func drops(_ r: UDPDropReason) -> UInt64 { let m = mux; return loop.sync { m.value.dropped[r] ?? 0 } }

        func shutdown() {
            let m = mux, a = agent
            loop.sync { a.value.close(); m.value.close() }
            loop.shutdown()
        }
    }

    @Test func answersAnAuthenticatedCheckAndRoutesThatAddress() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let peer = Peer()
        let request = f.check(useCandidate: true)
        peer.send(request, to: f.port)
        let reply = try #require(peer.receive())
        let m = try STUNMessage.parse(reply)
        #expect(m.messageType == .bindingSuccess)
        #expect(m.transactionID == Array(repeating: 1, count: 12))
        #expect(m.fingerprintMatches(reply))
        let (covered, mac) = try #require(m.integrityInput(reply))
        #expect(UDPMux.hmacSHA1(key: f.pwd, covered).elementsEqual(mac))
        let xma = Array(try #require(m.value(.xorMappedAddress)))
        #expect((UInt16(xma[2]) << 8 | UInt16(xma[3])) ^ 0x2112 == peer.port)
        #expect(reply.count <= request.count)

        // Now that address is the peer's: data from it reaches the agent, and the agent's data reaches it.
        peer.send([0x80, 0x6F, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], to: f.port)
        let a = f.agent
        f.loop.sync { _ = ([0x17, 0xFE, 0xFD] as [UInt8]).withUnsafeBytes { a.value.send($0) } }
        #expect(peer.receive() == [0x17, 0xFE, 0xFD])
        f.loop.sync {}
        #expect(f.seen.read { $0.data } == [[0x80, 0x6F, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]])
        #expect(f.seen.read { $0.states } == [.gathering, .connecting, .connected, .ready])
        #expect(f.seen.read { $0.pairs.count } == 1)
        #expect(f.seen.read { $0.candidates } == ["candidate:1 1 UDP 2130706431 127.0.0.1 \(f.port) typ host"])
    }

    /// The answer carries our candidates, so a peer's checks can connect the
    /// agent before the client calls gatherCandidates; gathering then must not
    /// move the state back (it once left sessions in CONNECTING for good).
    @Test func gatheringAfterTheFirstChecksKeepsTheState() throws {
        let f = try Fixture(gather: false)
        defer { f.shutdown() }
        let peer = Peer()
        peer.send(f.check(useCandidate: true), to: f.port)
        _ = try #require(peer.receive())
        let a = f.agent
        f.loop.sync { try? a.value.gather() }
        f.loop.sync {}
        #expect(f.loop.sync { a.value.state } == .ready)
        #expect(f.seen.read { $0.states } == [.connected, .ready])
        #expect(f.seen.read { $0.candidates.count } == 1)
    }

    @Test func aWrongPasswordGets401AndNoRoute() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let peer = Peer()
        peer.send(f.check(pwd: "wrongwrongwrongwrongwrong"), to: f.port)
        let reply = try #require(peer.receive())
        let m = try STUNMessage.parse(reply)
        #expect(m.messageType == .bindingError)
        let code = Array(try #require(m.value(.errorCode)))
        #expect(Int(code[2]) * 100 + Int(code[3]) == 401)
        #expect(f.drops(.badIntegrity) == 1)
        // Still a stranger: its data is dropped.
        peer.send([0x80, 0x6F, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], to: f.port)
        _ = peer.receive()
        #expect(f.drops(.unknownSource) == 1)
        #expect(f.seen.read { $0.data.isEmpty })
    }

    @Test func strangersGetNoAnswerAndNoState() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let peer = Peer()
        peer.send(f.check(user: "nobody:peer"), to: f.port)       // unknown ufrag
        #expect(peer.receive() == nil)
        peer.send([0, 1, 0, 0, 1, 2, 3], to: f.port)               // not STUN
        #expect(peer.receive() == nil)
        peer.send(Array(repeating: 0x16, count: 200), to: f.port) // DTLS from nobody
        #expect(peer.receive() == nil)
        #expect(f.drops(.unknownUsername) == 1)
        #expect(f.drops(.malformedSTUN) == 1)
        #expect(f.drops(.unknownSource) == 1)
        #expect(f.seen.read { $0.states } == [.gathering, .connecting])
    }

    @Test func aSmallRequestIsNeverAmplified() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let peer = Peer()
        // Valid but minimal: no PRIORITY or role, so the 64-byte answer would be bigger.
        var b = STUNMessageBuilder(type: .bindingRequest, transactionID: Array(repeating: 9, count: 12))
        b.append(.username, Array("\(f.ufrag):p".utf8))
        let pwd = f.pwd
        // No FINGERPRINT either (it is optional for us): 60 bytes against a 64-byte answer.
        var request = b.finish { UDPMux.hmacSHA1(key: pwd, $0) }
        request.removeLast(8)
        request[3] -= 8
        #expect(request.count < 64)
        peer.send(request, to: f.port)
        #expect(peer.receive() == nil)
    }

    @Test func aControlledPeerIsToldToTakeControl() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let peer = Peer()
        peer.send(f.check(controlled: true), to: f.port)
        let m = try STUNMessage.parse(try #require(peer.receive()))
        let code = Array(try #require(m.value(.errorCode)))
        #expect(Int(code[2]) * 100 + Int(code[3]) == 487)
    }

    @Test func aNominationFromANewAddressMovesThePeer() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let first = Peer(), second = Peer()
        first.send(f.check(useCandidate: true, tx: 1), to: f.port)
        _ = try #require(first.receive())
        // A check without nomination from a new address: answered, but the session stays.
        second.send(f.check(useCandidate: false, tx: 2), to: f.port)
        _ = try #require(second.receive())
        let a = f.agent
        f.loop.sync { _ = ([0x17] as [UInt8]).withUnsafeBytes { a.value.send($0) } }
        #expect(first.receive() == [0x17])
        // Nominated there: the session moves.
        second.send(f.check(useCandidate: true, tx: 3), to: f.port)
        _ = try #require(second.receive())
        f.loop.sync { _ = ([0x18] as [UInt8]).withUnsafeBytes { a.value.send($0) } }
        #expect(second.receive() == [0x18])
        #expect(f.seen.read { $0.pairs.count } == 2)
        // Both addresses still deliver (packets in flight from the old one are not lost).
        first.send([0x80, 0x6F, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1], to: f.port)
        f.loop.sync {}
        usleep(50_000)
        f.loop.sync {}
        #expect(f.seen.read { $0.data.count } == 1)
    }

    @Test func aSilentSelectedAddressGivesWayToAnAuthenticatedNewOne() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let first = Peer(), second = Peer()
        first.send(f.check(useCandidate: true, tx: 1), to: f.port)
        _ = try #require(first.receive())
        // The peer's NAT rebinds: its consent checks (no USE-CANDIDATE) now come from `second`.
        second.send(f.check(tx: 2), to: f.port)
        _ = try #require(second.receive())
        // A second later the first address is not yet silent long enough: no move.
        f.clock.advance(by: .seconds(1))
        second.send(f.check(tx: 3), to: f.port)
        _ = try #require(second.receive())
        #expect(f.seen.read { $0.pairs.count } == 1)
        f.clock.advance(by: .milliseconds(1100))  // now silent for longer than 2 s
        second.send(f.check(tx: 4), to: f.port)
        _ = try #require(second.receive())
        let a = f.agent
        f.loop.sync { _ = ([0x19] as [UInt8]).withUnsafeBytes { a.value.send($0) } }
        #expect(second.receive() == [0x19])
        #expect(f.seen.read { $0.pairs.count } == 2)
    }

    @Test func aClosedAgentNoLongerReceives() throws {
        let f = try Fixture()
        defer { f.shutdown() }
        let peer = Peer()
        peer.send(f.check(useCandidate: true), to: f.port)
        _ = try #require(peer.receive())
        let a = f.agent, m = f.mux
        f.loop.sync { a.value.close() }
        #expect(f.loop.sync { m.value.sessionCount } == 0)
        peer.send(f.check(useCandidate: true, tx: 5), to: f.port)
        #expect(peer.receive() == nil)
        #expect(f.drops(.unknownUsername) == 1)
    }

    @Test func twoHundredPeersOnOnePortEachGetTheirOwnTraffic() throws {
        let loop = MediaLoop(index: 0, name: "mux-test")
        defer { loop.shutdown() }
        let count = 200
        let settings = { var s = ICESettings(); s.hostAddresses = ["127.0.0.1"]; return s }()
        let seen = (0..<count).map { _ in Seen() }
        let setup = try loop.sync { () -> Result<(LoopBound<UDPMux>, [LoopBound<ICELiteAgent>]), UDPError> in
            do throws(UDPError) {
                let mux = try UDPMux(loop: loop, host: "127.0.0.1", port: 0)
                let agents = (0..<count).map { i in
                    let a = ICELiteAgent(mux: mux, settings: settings, logger: Logger(label: "test"))
                    a.onReceive = { b in let bytes = Array(b); seen[i].add { $0.data.append(bytes) } }
                    return LoopBound(a)
                }
                return .success((LoopBound(mux), agents))
            } catch { return .failure(error) }
        }.get()
        let (mux, agents) = setup
        let creds = loop.sync { agents.map { LoopBound(($0.value.localUfrag, $0.value.localPwd)) } }
        let peers = (0..<count).map { _ in Peer() }
        // Every peer checks in, nominating its address.
        for (i, peer) in peers.enumerated() {
            var b = STUNMessageBuilder(type: .bindingRequest, transactionID: Array(repeating: UInt8(i & 0xFF), count: 12))
            b.append(.username, Array("\(creds[i].value.0):p\(i)".utf8))
            b.append(.priority, [0x6E, 0x7F, 0x00, 0xFF])
            b.append(.iceControlling, Array(repeating: 2, count: 8))
            b.append(.useCandidate, [])
            let pwd = creds[i].value.1
            peer.send(b.finish { UDPMux.hmacSHA1(key: pwd, $0) }, to: mux.value.port)
        }
        for peer in peers { _ = try #require(peer.receive()) }
        // Each peer sends a datagram naming itself; each agent answers with its own index.
        for (i, peer) in peers.enumerated() {
            peer.send([0x80, 0x6F, UInt8(i >> 8), UInt8(i & 0xFF)], to: mux.value.port)
        }
        loop.sync {
            mux.value.batch {
                for (i, a) in agents.enumerated() { _ = ([0x81, UInt8(i >> 8), UInt8(i & 0xFF)] as [UInt8]).withUnsafeBytes { a.value.send($0) } }
            }
        }
        for (i, peer) in peers.enumerated() {
            #expect(peer.receive() == [0x81, UInt8(i >> 8), UInt8(i & 0xFF)], "peer \(i)")
        }
        var waited = 0
        while waited < 40, seen.contains(where: { $0.read { $0.data.isEmpty } }) {
            usleep(25_000)
            waited += 1
        }
        for i in 0..<count {
            #expect(seen[i].read { $0.data } == [[0x80, 0x6F, UInt8(i >> 8), UInt8(i & 0xFF)]], "agent \(i)")
        }
        #expect(loop.sync { mux.value.dropped.values.reduce(0, +) } == 0)
        loop.sync {
            for a in agents { a.value.close() }
            mux.value.close()
        }
    }
}
