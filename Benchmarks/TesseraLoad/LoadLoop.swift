import Foundation
import Logging
import Transport

/// One media loop of the generator and the peers bound to it, by id (the
/// worker/channel model: the control side holds ids, the loop owns the
/// peers). One clock per loop sends every publishing peer's next frame each
/// 20 ms and each peer's receiver report once a second, so a loop with 500
/// peers wakes 50 times a second for sending, not 25,000.
final class LoadLoop: @unchecked Sendable {
    // Sendable: `peers`, `scratch`, `timer` and `nextFrame` are touched only on
    // `loop` (inside `loop.post`/`loop.run`; `onLoop` asserts it).
    let loop: MediaLoop
    private var peers: [Int: LoadPeer] = [:]
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private var timer: LoopTimer?
    private var nextFrame = ContinuousClock.now
    private var nextVideoFrame = ContinuousClock.now
    private static let videoInterval = Duration.seconds(1) / VideoClip.clockRate
    /// The loop's sockets behind one epoll fd (nil: libnice agents).
    private var sockets: SocketSet?

    init(loop: MediaLoop, builtinICE: Bool = true) {
        self.loop = loop
        loop.post { [self] in
            if builtinICE { sockets = loop.sockets }
            nextFrame = .now + .milliseconds(20)
            nextVideoFrame = .now + Self.videoInterval
            scheduleTick()
        }
    }

    deinit { scratch.deallocate() }

    private func onLoop() { assert(loop.isCurrent, "LoadLoop state touched off its loop") }

    private func scheduleTick() {
        onLoop()
        let delay = max(Duration.zero, min(nextFrame, nextVideoFrame) - .now)
        timer = LoopTimer(loop: loop, after: delay) { [self] in tick() }
    }

    private func tick() {
        onLoop()
        let now = ContinuousClock.now
        var rounds = 0
        while now >= nextFrame, rounds < 3 {
            for peer in peers.values where peer.isSending { peer.sendFrame(into: scratch) }
            nextFrame += .milliseconds(20)
            rounds += 1
        }
        // Too late to catch up (a stalled loop): skip ahead rather than burst.
        if now - nextFrame > .milliseconds(60) { nextFrame = now + .milliseconds(20) }
        if now >= nextVideoFrame {
            for peer in peers.values where peer.isSendingVideo { peer.sendVideoFrame(into: scratch) }
            nextVideoFrame += Self.videoInterval
            if now - nextVideoFrame > .milliseconds(100) { nextVideoFrame = now + Self.videoInterval }
        }
        for peer in peers.values { peer.sendReportIfDue(now: now, into: scratch) }
        scheduleTick()
    }

    /// Makes a peer on this loop and returns its SDP offer.
    /// Makes a peer on this loop; returns our offer, or with `answering`
    /// (the server's offer) our answer, the peer then starting at once.
    func addPeer(
        id: Int, certificate: DTLSCertificate, settings: ICESettings, clip: AudioClip?, video: VideoClip? = nil,
        wantsVideo: Bool = false, expectColour: RGB? = nil, answering: String? = nil, decode: Bool, logger: Logger,
        events: @escaping @Sendable (PeerEvent) -> Void
    ) async throws -> String {
        let result: Result<String, RPCSocket.Failure> = await loop.run { [self] in
            onLoop()
            do {
                let peer = try LoadPeer(
                    id: id, loop: loop, certificate: certificate, settings: settings, clip: clip, video: video,
                    wantsVideo: wantsVideo, expectColour: expectColour, decode: decode, sockets: sockets, logger: logger,
                    events: events)
                peers[id] = peer
                if let answering { return .success(try peer.answer(offer: answering)) }
                return .success(peer.makeOffer())
            } catch {
                return .failure(RPCSocket.Failure(description: "peer setup: \(error)"))
            }
        }
        return try result.get()
    }

    func apply(answer: String, to id: Int) async throws {
        let result: Result<Void, RPCSocket.Failure> = await loop.run { [self] in
            onLoop()
            guard let peer = peers[id] else { return .failure(RPCSocket.Failure(description: "no peer \(id)")) }
            do { try peer.apply(answer: answer) } catch {
                return .failure(RPCSocket.Failure(description: "answer: \(error)"))
            }
            return .success(())
        }
        try result.get()
    }

    func addCandidate(_ candidate: String, to id: Int) {
        loop.post { [self] in peers[id]?.addRemoteCandidate(candidate) }
    }

    func close(_ id: Int) {
        loop.post { [self] in peers.removeValue(forKey: id)?.close() }
    }

    /// Closes every peer; returns the RTP packets they sent and received in all.
    func closeAll() async -> (sent: UInt64, received: UInt64) {
        await loop.run { [self] in
            var sent: UInt64 = 0, received: UInt64 = 0
            for peer in peers.values {
                sent &+= peer.stats.packetsOut &+ peer.stats.videoPacketsOut
                received &+= peer.stats.packetsIn &+ peer.stats.videoPacketsIn
                peer.close()
            }
            peers.removeAll()
            timer?.cancel()
            timer = nil
            return (sent, received)
        }
    }

    /// Counters of every peer, with decoded tone levels for `frequencies`.
    func snapshot(frequencies: [Int]) async -> [Int: PeerStats] {
        await loop.run { [self] in
            var out: [Int: PeerStats] = [:]
            for (id, peer) in peers { out[id] = peer.snapshot(frequencies: frequencies) }
            return out
        }
    }
}
