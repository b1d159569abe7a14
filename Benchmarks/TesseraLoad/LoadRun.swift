import ArgumentParser
import Foundation
import JSONRPC
import Logging
import Transport

/// The parts of a run every scenario shares: loops, identity, join pacing,
/// progress lines, the measurement window and the report.
final class LoadRun: Sendable {
    let common: CommonOptions
    let group: MediaLoopGroup
    let loops: [LoadLoop]
    let registry = Registry()
    let certificate: DTLSCertificate
    let settings: ICESettings

    init(common: CommonOptions, logger: Logger, defaultAddress: String = "127.0.0.1") throws {
        self.common = common
        group = MediaLoopGroup(count: common.loops, name: "load")
        loops = group.loops.map { LoadLoop(loop: $0, builtinICE: common.iceAgent == .builtin) }
        certificate = try DTLSCertificate(keyType: .ecdsa)
        var s = ICESettings()
        s.hostAddresses = [common.localAddress == "auto" ? defaultAddress : common.localAddress]
        settings = s
    }

    struct Totals {
        var packetsIn: UInt64 = 0, packetsOut: UInt64 = 0, expectedIn: UInt64 = 0
        init(_ stats: [Int: PeerStats]) {
            for s in stats.values {
                packetsIn &+= s.packetsIn &+ s.videoPacketsIn
                packetsOut &+= s.packetsOut &+ s.videoPacketsOut
                expectedIn &+= s.expectedIn
            }
        }
    }

    func snapshot(frequencies: [Int] = []) async -> [Int: PeerStats] {
        var all: [Int: PeerStats] = [:]
        for loop in loops { all.merge(await loop.snapshot(frequencies: frequencies)) { a, _ in a } }
        return all
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }

    /// Joins every participant (at `joinRate`), waits until all are connected
    /// or failed (bounded), measures for `seconds`, then lets everyone leave.
    func drive(
        participants: [any LoadParticipant], scenario: String, mode: String, room: String, url: String,
        frequencies: [Int], ownFrequency: @escaping (Int) -> Int?, hearsSelf: Bool = false
    ) async -> Report {
        let start = ContinuousClock.now
        var previous = Totals(await snapshot())
        var previousServer = common.serverPid.flatMap { ProcessUsage.read(pid: $0) }
        var lastLine = ContinuousClock.now
        func tick(_ label: String) async {
            guard ContinuousClock.now - lastLine >= .seconds(1) else { return }
            let now = ContinuousClock.now
            let elapsed = (now - lastLine).seconds
            lastLine = now
            let totals = Totals(await snapshot())
            let inRate = Double(totals.packetsIn &- previous.packetsIn) / elapsed
            let outRate = Double(totals.packetsOut &- previous.packetsOut) / elapsed
            let expected = Double(totals.expectedIn &- previous.expectedIn)
            let loss = expected > 0 ? max(0, 1 - Double(totals.packetsIn &- previous.packetsIn) / expected) : 0
            previous = totals
            var line = String(
                format: "%@ t=%.0fs peers %d/%d connected, %d failed, in %.0f pkt/s, out %.0f pkt/s, loss %.2f%%",
                label, (now - start).seconds, participants.filter(\.isConnected).count, participants.count,
                participants.filter(\.hasFailed).count, inRate, outRate, loss * 100)
            if let pid = common.serverPid, let usage = ProcessUsage.read(pid: pid) {
                if let p = previousServer {
                    line += String(format: ", server CPU %.1f%%", (usage.cpuSeconds - p.cpuSeconds) / elapsed * 100)
                }
                line += String(format: ", RSS %.0f MB", Double(usage.rssBytes) / 1e6)
                previousServer = usage
            }
            progress(line)
        }

        // Joins, paced. A refused first join (bad URL, no server, a full room)
        // ends the run at once.
        let interval = Duration.seconds(1) / common.joinRate
        var firstFailed = false
        await withTaskGroup(of: Void.self) { tasks in
            for (i, p) in participants.enumerated() {
                tasks.addTask { await p.join(url: url, room: room, mode: mode) }
                if i == 0 {
                    await tasks.next()
                    if p.hasFailed {
                        firstFailed = true
                        break
                    }
                }
                try? await Task.sleep(until: start + interval * (i + 1))
                await tick("joining")
            }
            await tasks.waitForAll()
        }
        if firstFailed {
            var report = Report(scenario: scenario, mode: mode, room: room, peers: participants.count)
            report.failed = participants.count
            report.failures = registry.failures
            if participants.count > 1 { report.failures["not started: the first join failed"] = participants.count - 1 }
            report.generatorLoops = loops.count
            for p in participants { await p.leave() }
            for loop in loops { _ = await loop.closeAll() }
            return report
        }
        // Everyone connected or failed, within a bound that grows with the room.
        let deadline = ContinuousClock.now + .seconds(20) + interval * participants.count
        while ContinuousClock.now < deadline, !participants.allSatisfy({ $0.isConnected || $0.hasFailed }) {
            try? await Task.sleep(for: .milliseconds(200))
            await tick("connecting")
        }
        let ready = participants.filter(\.isConnected).count
        for p in participants where !p.isConnected && !p.hasFailed { registry.fail("not connected within the setup time") }

        // The measurement window.
        let before = await snapshot()
        let serverBefore = common.serverPid.flatMap { ProcessUsage.read(pid: $0) }
        let selfBefore = ProcessUsage.read(pid: ProcessUsage.selfPID)
        let windowStart = ContinuousClock.now
        if ready > 0 {
            lastLine = .now
            previous = Totals(before)
            while ContinuousClock.now - windowStart < .seconds(common.seconds) {
                try? await Task.sleep(for: .milliseconds(250))
                await tick("measuring")
            }
        }
        let window = (ContinuousClock.now - windowStart).seconds
        let after = await snapshot()
        let serverAfter = common.serverPid.flatMap { ProcessUsage.read(pid: $0) }
        let selfAfter = ProcessUsage.read(pid: ProcessUsage.selfPID)
        // The decoded sample's analysis (a loopback run filters every participant's tone out of every
        // decoded participant's audio) comes after the window's counters and CPU times are read.
        let analysis = await snapshot(frequencies: frequencies + participants.indices.compactMap(ownFrequency))

        var report = Report(scenario: scenario, mode: mode, room: room, peers: participants.count)
        report.connected = ready
        report.failed = participants.filter(\.hasFailed).count + participants.filter { !$0.isConnected && !$0.hasFailed }.count
        report.failures = registry.failures
        report.setupMillis = registry.setupMillis
        report.windowSeconds = window
        var perParticipant: [Double] = []
        var videoFPS: [Double] = []
        var videoPackets: UInt64 = 0
        var keyframes: UInt64 = 0
        var jitters: [Double] = []
        var received: UInt64 = 0, expected: UInt64 = 0, sent: UInt64 = 0
        for (i, p) in participants.enumerated() where p.isConnected {
            var got: UInt64 = 0
            var frames: UInt64 = 0
            var watches = false
            for id in p.peerIDs.values {
                guard let a = after[id] else { continue }
                let b = before[id] ?? PeerStats()
                got &+= a.packetsIn &- b.packetsIn
                frames &+= a.videoFramesIn &- b.videoFramesIn
                videoPackets &+= a.videoPacketsIn &- b.videoPacketsIn
                sent &+= a.videoPacketsOut &- b.videoPacketsOut
                keyframes &+= a.keyframesIn &- b.keyframesIn
                if a.videoPacketsIn > 0 || a.videoFramesIn > 0 { watches = true }
                expected &+= a.expectedIn &- b.expectedIn
                sent &+= a.packetsOut &- b.packetsOut
                if a.packetsIn > 0 { jitters.append(a.jitterMillis) }
                if let a = analysis[id], !a.toneLevels.isEmpty || a.colour != nil {
                    let own = ownFrequency(i)
                    // Loopback: its own tone is expected and every other tone analysed (the neighbours') is not.
                    let analysed = hearsSelf ? a.toneLevels.keys.sorted() : frequencies
                    let heard = analysed.filter { $0 != own && (a.toneLevels[$0] ?? 0) > 0.02 }
                    var entry = Report.Decoded(
                        participant: p.name, ownHz: own, ownLevel: own.flatMap { a.toneLevels[$0] },
                        heardHz: heard, expectedHz: hearsSelf ? own.map { [$0] } ?? [] : frequencies.filter { $0 != own })
                    if let c = a.colour {
                        // Its own colour must be the nearest of every participant's (their colours: ColourGrid).
                        let nearest = c.seen.map { ColourGrid.nearest($0, peers: participants.count) }
                        entry.colour = .init(
                            own: c.own, seen: c.seen, nearest: nearest.map { participants[$0].name },
                            matches: c.seen.map { $0.distance(to: c.own) <= ColourGrid.tolerance } == true
                                && nearest.map { ColourGrid.colour($0) == c.own } == true,
                            framesDecoded: c.framesDecoded, framesOffColour: c.framesOffColour,
                            keyframeRequests: c.keyframeRequestsSent)
                    }
                    report.decoded.append(entry)
                }
            }
            received &+= got
            if p.receives { perParticipant.append(Double(got) / window) }
            if watches { videoFPS.append(Double(frames) / window) }
        }
        report.receivedPerParticipant = perParticipant
        report.videoFramesPerParticipant = videoFPS
        report.videoPacketsPerSecond = Double(videoPackets) / window
        report.keyframes = keyframes
        received &+= videoPackets
        report.receivedPerSecond = Double(received) / window
        report.sentPerSecond = Double(sent) / window
        report.loss = expected > 0 ? max(0, 1 - Double(received) / Double(expected)) : 0
        report.jitterMillis = jitters
        if let a = serverAfter, let b = serverBefore {
            report.serverCPUPercent = (a.cpuSeconds - b.cpuSeconds) / window * 100
            if received > 0 { report.serverMicrosPerPacketOut = (a.cpuSeconds - b.cpuSeconds) * 1e6 / Double(received) }
            report.serverRSSBytes = a.rssBytes
        }
        if let a = selfAfter, let b = selfBefore {
            report.generatorCPUPercent = (a.cpuSeconds - b.cpuSeconds) / window * 100
            report.generatorRSSBytes = a.rssBytes
        }
        report.generatorLoops = loops.count
        // Sending stops first, so the whole-run totals are what the server could count.
        for loop in loops {
            let t = await loop.closeAll()
            report.totalSent &+= t.sent
            report.totalReceived &+= t.received
        }
        for p in participants { await p.leave() }
        return report
    }

    /// The generator's own log: errors only (the report says what happened).
    static var logger: Logger {
        var l = Logger(label: "tessera-load")
        l.logLevel = .error
        return l
    }

    /// Prints the report; exits with status 1 when any participant failed or none connected.
    func finish(_ report: Report) throws {
        if report.failed > 0 {
            let top = report.failures.max { $0.value < $1.value }.map { "\($0.key) (x\($0.value))" } ?? "unknown"
            FileHandle.standardError.write("tessera-load: \(report.failed) of \(report.peers) participants failed: \(top)\n".data(using: .utf8)!)
        }
        if common.json {
            print(JSONWriter.string(report.json))
        } else {
            print(report.text)
        }
        if report.failed > 0 || report.connected == 0 { throw ExitCode(1) }
    }
}
