import Mixer
import RTP
import Testing

private typealias Support = AudioTestSupport

/// Runs `ticks` ticks: each talker (by port) pushes its next packet, then the
/// mixer ticks; each listener port decodes the packet routed to it.
private final class Harness {
    let mixer: AudioMixer
    var talkers: [Int: TestTalker] = [:]
    var decoders: [Int: OpusDecoder] = [:]
    var heard: [Int: [Int16]] = [:]
    var now: Int64 = 0
    var lastTick: AudioTick?
    /// Per tick: packet count, and (ssrc, seq, ts) of each packet.
    var history: [[RTPHeader]] = []

    init(_ configuration: AudioMixerConfiguration, ports: [Int]) throws {
        mixer = try AudioMixer(configuration: configuration)
        for port in ports {
            mixer.addPort(port)
            decoders[port] = try OpusDecoder(channels: configuration.channels)
            heard[port] = []
        }
    }

    func run(_ ticks: Int, each: (Int) -> Void = { _ in }) throws {
        for t in 0..<ticks {
            for (port, talker) in talkers.sorted(by: { $0.key < $1.key }) {
                mixer.push(port: port, packet: try talker.next(), audioLevelID: talker.withLevel ? Support.levelID : nil,
                           nowMillis: now)
            }
            try tick()
            each(t)
        }
    }

    func tick() throws {
        let out = mixer.tick(nowMillis: now)
        now += 20
        history.append(try out.packets.map { try RTPHeader.parse($0) })
        for (port, decoder) in decoders {
            let packet = out.packets[out.route[port]!]
            let header = try RTPHeader.parse(packet)
            heard[port]! += try decoder.decode(Array(packet[header.payloadRange]))
        }
        lastTick = out
    }
}

private func configuration(speakers: Int = 3) -> AudioMixerConfiguration {
    var configuration = AudioMixerConfiguration()
    configuration.maxSpeakers = speakers
    configuration.bitrate = 48_000
    configuration.ssrcSeed = 1234
    return configuration
}

@Test func audioMixerEachPortHearsEveryoneButItself() throws {
    let tones = [300.0, 500.0, 700.0, 900.0]
    let harness = try Harness(configuration(speakers: 4), ports: [0, 1, 2, 3])
    for (port, tone) in tones.enumerated() {
        harness.talkers[port] = try TestTalker(ssrc: UInt32(100 + port), frequency: tone, amplitude: 6_000)
    }
    var mixed: [Int: [Int16]] = [:]  // the PCM each port's packet was encoded from
    try harness.run(50) { t in
        if t >= 25 { for port in 0..<4 { mixed[port, default: []] += harness.mixer.lastOutputPCM(for: port)! } }
    }
    #expect(Set(harness.mixer.mixedSpeakers) == [0, 1, 2, 3])
    #expect(harness.lastTick!.packets.count == 5)
    for (port, tone) in tones.enumerated() {
        // Before the encoder: the own tone is gone (only the inputs' codec noise is left).
        let pcm = mixed[port]![...]
        let ownPCM = Support.toneDB(pcm, frequency: tone)
        // After encoding and decoding: Opus adds intermodulation products, and
        // with evenly spaced tones 2 * f2 - f3 lands on the missing tone.
        let tail = harness.heard[port]![(harness.heard[port]!.count - 24_000)...]
        let own = Support.toneDB(tail, frequency: tone)
        for (other, otherTone) in tones.enumerated() where other != port {
            let level = Support.toneDB(tail, frequency: otherTone)
            #expect(level > own + 20, "port \(port): \(otherTone) Hz at \(level) dB, own \(tone) Hz at \(own) dB")
            let levelPCM = Support.toneDB(pcm, frequency: otherTone)
            #expect(levelPCM > ownPCM + 40, "PCM of port \(port): \(otherTone) Hz at \(levelPCM) dB, own \(ownPCM) dB")
        }
    }
}

@Test func receiverSideMuteTakesOneSpeakerOutOfOneListenersMix() throws {
    let tones = [300.0, 500.0, 700.0]
    // Ports 0-2 talk; 3 and 4 only listen.
    let harness = try Harness(configuration(speakers: 3), ports: [0, 1, 2, 3, 4])
    for (port, tone) in tones.enumerated() {
        harness.talkers[port] = try TestTalker(ssrc: UInt32(100 + port), frequency: tone, amplitude: 6_000)
    }
    harness.mixer.setExcluded([1], forListener: 3)  // 3 mutes 500 Hz
    harness.mixer.setExcluded([1], forListener: 4)  // so does 4: they share one stream
    harness.mixer.setExcluded([2, 4], forListener: 0)  // 0 (a speaker) mutes 700 Hz and a silent port
    var pcm: [Int: [Int16]] = [:]
    try harness.run(40) { t in
        if t >= 20 { for port in 0..<5 { pcm[port, default: []] += harness.mixer.lastOutputPCM(for: port)! } }
    }
    // Shared + 3 speakers + "without 1" (3 and 4) + "without 0 and 2" (0).
    #expect(harness.lastTick!.packets.count == 6)
    #expect(harness.lastTick!.route[3] == harness.lastTick!.route[4])
    func db(_ port: Int, _ hz: Double) -> Double { Support.toneDB(pcm[port]![...], frequency: hz) }
    for listener in [3, 4] {
        #expect(db(listener, 300) > db(listener, 500) + 40, "port \(listener) still hears 500 Hz")
        #expect(db(listener, 700) > db(listener, 500) + 40)
    }
    #expect(db(0, 500) > db(0, 700) + 40 && db(0, 500) > db(0, 300) + 40, "port 0 hears itself or 700 Hz")
    #expect(db(2, 300) > db(2, 700) + 40 && db(2, 500) > db(2, 700) + 40)  // unaffected: mix minus itself
    // Decoded, the muted tone is gone from the listener's stream too.
    let tail = harness.heard[3]![(harness.heard[3]!.count - 9_600)...]
    #expect(Support.toneDB(tail, frequency: 300) > Support.toneDB(tail, frequency: 500) + 20)
    // Unmuted: back to the shared mix and the speaker streams only.
    for port in [0, 3, 4] { harness.mixer.setExcluded([], forListener: port) }
    try harness.run(3)
    #expect(harness.lastTick!.packets.count == 4)
    #expect(harness.mixer.excluded(forListener: 3).isEmpty)
}

@Test func audioMixerSilenceInSilenceOut() throws {
    let harness = try Harness(configuration(), ports: [0, 1, 2, 3, 4])
    for port in 0..<4 {
        harness.talkers[port] = try TestTalker(ssrc: UInt32(port + 1), frequency: 440, amplitude: 0)
    }
    try harness.run(30)
    #expect(harness.mixer.decodeCount == 0)
    #expect(harness.mixer.mixedSpeakers.isEmpty)
    #expect(harness.mixer.dominantSpeaker == nil)
    // Packets keep coming (the receivers' clock), one shared stream.
    #expect(harness.history.allSatisfy { $0.count == 1 })
    for port in 0...4 {
        #expect(harness.heard[port]!.count == 30 * 960)
        #expect(harness.heard[port]!.map { abs(Int($0)) }.max()! <= 8)
    }
}

@Test func audioMixerDecodesAndMeasuresInputsWithoutLevelHeader() throws {
    let harness = try Harness(configuration(), ports: [0, 1, 2])
    harness.talkers[0] = try TestTalker(ssrc: 1, frequency: 440, amplitude: 8_000, withLevel: false)
    harness.talkers[1] = try TestTalker(ssrc: 2, frequency: 440, amplitude: 0, withLevel: false)
    try harness.run(30)
    #expect(harness.mixer.mixedSpeakers == [0])
    #expect(harness.mixer.stats(of: 1)!.decoded == 28)  // decoded to find out it is silent
    let level = harness.mixer.level(of: 0)!
    #expect(level > -20 && level < -10, "measured \(level) dBov")
    #expect(harness.mixer.level(of: 1)! < -80)
    #expect(harness.mixer.isSpeaking(0) && !harness.mixer.isSpeaking(1))
}

@Test func audioMixerSkipsDecodingInputsMarkedSilent() throws {
    let harness = try Harness(configuration(), ports: [0, 1, 2, 3])
    harness.talkers[0] = try TestTalker(ssrc: 1, frequency: 300, amplitude: 8_000)
    harness.talkers[1] = try TestTalker(ssrc: 2, frequency: 500, amplitude: 8_000)
    harness.talkers[2] = try TestTalker(ssrc: 3, frequency: 700, amplitude: 8_000)
    harness.talkers[2]!.headerLevel = 127  // says silent (whatever it carries)
    harness.talkers[3] = try TestTalker(ssrc: 4, frequency: 900, amplitude: 8_000, withLevel: false)
    try harness.run(40)
    let stats = (0..<4).map { harness.mixer.stats(of: $0)! }
    #expect(stats[2].decoded == 0)
    #expect(stats[2].skippedSilent == 38)
    #expect(stats[0].decoded == 38 && stats[1].decoded == 38 && stats[3].decoded == 38)
    #expect(harness.mixer.decodeCount == 3 * 38)
    #expect(Set(harness.mixer.mixedSpeakers) == [0, 1, 3])
    // Speaking again: decoded again (after a decoder reset).
    harness.talkers[2]!.headerLevel = nil
    try harness.run(10)
    #expect(harness.mixer.stats(of: 2)!.decoded == 8)  // the first 2 ticks play packets still marked silent
}

@Test func audioMixerLimitsSixteenFullScaleInputsWithoutWrapping() throws {
    let inputs = 16
    let harness = try Harness(configuration(speakers: inputs), ports: Array(0...inputs))
    for port in 0..<inputs {
        harness.talkers[port] = try TestTalker(ssrc: UInt32(port + 1), frequency: 440, amplitude: 32_767)
    }
    // What one input decodes to: every talker sends identical packets.
    let reference = try TestTalker(ssrc: 99, frequency: 440, amplitude: 32_767)
    let referenceDecoder = try OpusDecoder()
    var expected: [Int16] = []
    var heard: [Int16] = []  // PCM of the shared mix that port 16 (a listener) gets
    var mixedMinusOne: [Int16] = []
    try harness.run(40) { t in
        if t >= 2 {
            heard += harness.mixer.lastOutputPCM(for: inputs)!
            mixedMinusOne += harness.mixer.lastOutputPCM(for: 0)!
        }
    }
    for _ in 0..<38 {
        let packet = try reference.next()
        expected += try referenceDecoder.decode(Array(packet[try RTPHeader.parse(packet).payloadRange]))
    }
    #expect(expected.count == heard.count)
    #expect(Set(harness.mixer.mixedSpeakers) == Set(0..<inputs))
    var flips = 0, worstJump = 0, worstExpectedJump = 0
    #expect(heard[0..<960].allSatisfy { $0 == 0 })  // tick 2: the smoothed levels are not up yet
    for i in 960..<heard.count {  // from the first mixed frame: it fades in, the limiter attacks
        let sum = 16 * Int(expected[i])
        let faded = i < 960 + 480  // the inputs' own fade-in may round tiny samples to 0
        if !faded && abs(sum) > 3_200 && (heard[i] > 0) != (sum > 0) { flips += 1 }
        if !faded && abs(15 * Int(expected[i])) > 3_000 && (mixedMinusOne[i] > 0) != (expected[i] > 0) { flips += 1 }
        worstJump = max(worstJump, abs(Int(heard[i]) - Int(heard[i - 1])))
        worstExpectedJump = max(worstExpectedJump, abs(Int(expected[i]) - Int(expected[i - 1])))
    }
    #expect(flips == 0)
    #expect(heard.map { abs(Int($0)) }.max()! < 32_767)  // soft: never pinned at full scale
    #expect(heard.map { abs(Int($0)) }.max()! > 20_000)  // but loud
    #expect(worstJump <= worstExpectedJump + 64, "jump \(worstJump) vs one input's \(worstExpectedJump)")
}

@Test func audioMixerKeepsTheLoudestK() throws {
    let harness = try Harness(configuration(speakers: 3), ports: Array(0..<8))
    let amplitudes = [1_000.0, 16_000, 2_000, 8_000, 500, 4_000]  // loudest: 1, 3, 5
    for (port, amplitude) in amplitudes.enumerated() {
        harness.talkers[port] = try TestTalker(ssrc: UInt32(port + 1), frequency: 300 + 100 * Double(port),
                                               amplitude: amplitude)
    }
    try harness.run(50)
    #expect(Set(harness.mixer.mixedSpeakers) == [1, 3, 5])
    #expect(harness.mixer.dominantSpeaker == 1)
    #expect(harness.mixer.level(of: 1)! > harness.mixer.level(of: 3)!)

    // The shared-encode group: K+1 packets; everyone outside the mix gets the same one.
    let tick = harness.lastTick!
    #expect(tick.packets.count == 4)
    let shared = tick.route[0]!
    for port in [0, 2, 4, 6, 7] { #expect(tick.route[port] == shared) }
    let own = Set([1, 3, 5].map { tick.route[$0]! })
    #expect(own.count == 3 && !own.contains(shared))
    #expect(Set(tick.route.values) == Set(0..<4))
    // Distinct SSRCs, V=2, our payload type; continuous seq and timestamps per stream.
    let headers = harness.history.last!
    #expect(Set(headers.map(\.ssrc)).count == 4)
    #expect(headers.allSatisfy { $0.payloadType == 111 && !$0.hasExtension })
    var lastBySSRC: [UInt32: RTPHeader] = [:]
    for tickHeaders in harness.history {
        for header in tickHeaders {
            if let previous = lastBySSRC[header.ssrc] {
                #expect(header.sequenceNumber == previous.sequenceNumber &+ 1)
                #expect(header.timestamp == previous.timestamp &+ 960)
                #expect(!header.marker)
            } else {
                #expect(header.marker)
            }
            lastBySSRC[header.ssrc] = header
        }
    }
}

@Test func audioMixerHysteresisIgnoresABlipButYieldsToASustainedChallenger() throws {
    let harness = try Harness(configuration(speakers: 3), ports: [0, 1, 2, 3])
    for port in 0..<4 {
        harness.talkers[port] = try TestTalker(ssrc: UInt32(port + 1), frequency: 300 + 200 * Double(port),
                                               amplitude: 5_000)
        harness.talkers[port]!.headerLevel = port == 3 ? 30 : 20
    }
    try harness.run(50)
    let incumbents = Set(harness.mixer.mixedSpeakers)
    #expect(incumbents == [0, 1, 2])
    let dominant = harness.mixer.dominantSpeaker
    // A 60 ms blip of port 3, 15 dB above the others: nothing changes.
    harness.talkers[3]!.headerLevel = 5
    try harness.run(3) { _ in #expect(Set(harness.mixer.mixedSpeakers) == incumbents) }
    harness.talkers[3]!.headerLevel = 30
    try harness.run(40) { _ in #expect(Set(harness.mixer.mixedSpeakers) == incumbents) }
    #expect(harness.mixer.dominantSpeaker == dominant)
    // Sustained: port 3 gets in after the hold time, displacing one incumbent.
    harness.talkers[3]!.headerLevel = 5
    var joinedAt: Int?
    try harness.run(50) { t in
        if joinedAt == nil && harness.mixer.mixedSpeakers.contains(3) { joinedAt = t }
    }
    #expect(joinedAt != nil && joinedAt! >= 10, "joined at tick \(String(describing: joinedAt))")
    #expect(harness.mixer.mixedSpeakers.count == 3)
    #expect(harness.mixer.dominantSpeaker == 3)
    // An incumbent that falls silent leaves without waiting for a challenger.
    harness.talkers[0]!.headerLevel = 127
    harness.talkers[1]!.headerLevel = 127
    harness.talkers[2]!.headerLevel = 127
    try harness.run(40)
    #expect(harness.mixer.mixedSpeakers == [3])
    #expect(harness.lastTick!.packets.count == 2)
}

@Test func audioMixerPortsThatNeverSentHearTheSharedMix() throws {
    let harness = try Harness(configuration(speakers: 1), ports: [0, 1, 2])
    harness.talkers[0] = try TestTalker(ssrc: 1, frequency: 500, amplitude: 8_000)
    try harness.run(30)
    #expect(harness.lastTick!.route[1] == harness.lastTick!.route[2])
    let tail = harness.heard[1]![(harness.heard[1]!.count - 9_600)...]
    #expect(Support.toneDB(tail, frequency: 500) > Support.toneDB(tail, frequency: 1_500) + 30)
    // Port 0 hears itself removed: near silence.
    #expect(harness.heard[0]![(harness.heard[0]!.count - 9_600)...].map { abs(Int($0)) }.max()! < 300)
}

// MARK: Jitter buffer

private func sender(_ mixer: AudioMixer, port: Int) throws -> (TestTalker, [[UInt8]]) {
    let talker = try TestTalker(ssrc: 77, frequency: 400, amplitude: 8_000)
    return (talker, try (0..<40).map { _ in try talker.next() })
}

@Test func audioJitterBufferPlaysReorderedPacketsInOrder() throws {
    let mixer = try AudioMixer(configuration: configuration())
    mixer.addPort(0)
    let (_, packets) = try sender(mixer, port: 0)
    var order = Array(0..<40)
    for i in stride(from: 0, to: 40, by: 2) { order.swapAt(i, i + 1) }  // 1 0 3 2 5 4 ...
    var played: [Int64] = []
    for (t, index) in order.enumerated() {
        mixer.push(port: 0, packet: packets[index], audioLevelID: AudioTestSupport.levelID, nowMillis: Int64(t * 20))
        _ = mixer.tick(nowMillis: Int64(t * 20))
        if let sequence = mixer.stats(of: 0)!.lastPlayedSequence, played.last != sequence { played.append(sequence) }
    }
    #expect(played.count == 38)
    #expect(zip(played, played.dropFirst()).allSatisfy { $1 == $0 + 1 })
    #expect(played.first == 100)
    let stats = mixer.stats(of: 0)!
    #expect(stats.concealed == 0 && stats.fecRecovered == 0 && stats.dropsLate == 0)
}

@Test func audioJitterBufferConcealsALostPacket() throws {
    let mixer = try AudioMixer(configuration: configuration())
    mixer.addPort(0)
    mixer.addPort(1)
    let (_, packets) = try sender(mixer, port: 0)
    var sequences: [UInt16] = []
    var heardTone = 0
    for t in 0..<43 {
        // Packets 10 and 20 are lost; after 39 the sender pauses (underrun).
        if t != 10 && t != 20 && t < 40 {
            mixer.push(port: 0, packet: packets[t], audioLevelID: AudioTestSupport.levelID, nowMillis: Int64(t * 20))
        }
        let out = mixer.tick(nowMillis: Int64(t * 20))
        let packet = out.packets[out.route[1]!]
        sequences.append(try RTPHeader.parse(packet).sequenceNumber)
        if mixer.lastOutputPCM(for: 1)!.contains(where: { abs($0) > 1_000 }) { heardTone += 1 }
    }
    let stats = mixer.stats(of: 0)!
    #expect(stats.fecRecovered == 2)  // rebuilt from the next packet's FEC data
    #expect(stats.decoded == 40 - 2)
    #expect(stats.concealed == 1)  // the pause: one tick of PLC so far
    // The output stream has no gap, and the tone never stops once it started.
    #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
    #expect(heardTone >= 40)
}

@Test func audioJitterBufferDropsDuplicatesAndLatePackets() throws {
    let mixer = try AudioMixer(configuration: configuration())
    mixer.addPort(0)
    let (_, packets) = try sender(mixer, port: 0)
    for t in 0..<10 {
        mixer.push(port: 0, packet: packets[t], audioLevelID: AudioTestSupport.levelID, nowMillis: Int64(t * 20))
        if t == 5 { mixer.push(port: 0, packet: packets[t], audioLevelID: AudioTestSupport.levelID, nowMillis: 100) }
        _ = mixer.tick(nowMillis: Int64(t * 20))
    }
    mixer.push(port: 0, packet: packets[3], audioLevelID: AudioTestSupport.levelID, nowMillis: 200)  // long played
    var stats = mixer.stats(of: 0)!
    #expect(stats.dropsDuplicate == 1)
    #expect(stats.dropsLate == 1)
    #expect(stats.received == 10)
    #expect(stats.decoded == 8)
    // Garbage is counted, not played.
    mixer.push(port: 0, packet: [0x12, 0x34], audioLevelID: nil, nowMillis: 200)
    stats = mixer.stats(of: 0)!
    #expect(stats.dropsMalformed == 1)
}

@Test func audioJitterBufferRestartsOnNewSSRCAndBigJumps() throws {
    let mixer = try AudioMixer(configuration: configuration())
    mixer.addPort(0)
    let first = try TestTalker(ssrc: 1, frequency: 400, amplitude: 8_000)
    let second = try TestTalker(ssrc: 2, frequency: 400, amplitude: 8_000, sequence: 40_000)
    var now: Int64 = 0
    for _ in 0..<10 {
        mixer.push(port: 0, packet: try first.next(), audioLevelID: AudioTestSupport.levelID, nowMillis: now)
        _ = mixer.tick(nowMillis: now)
        now += 20
    }
    for _ in 0..<10 {
        mixer.push(port: 0, packet: try second.next(), audioLevelID: AudioTestSupport.levelID, nowMillis: now)
        _ = mixer.tick(nowMillis: now)
        now += 20
    }
    var stats = mixer.stats(of: 0)!
    #expect(stats.resets == 1)
    #expect(stats.lastPlayedSequence == 40_007)
    second.sequence &+= 5_000  // a big jump: start over there
    for _ in 0..<5 {
        mixer.push(port: 0, packet: try second.next(), audioLevelID: AudioTestSupport.levelID, nowMillis: now)
        _ = mixer.tick(nowMillis: now)
        now += 20
    }
    stats = mixer.stats(of: 0)!
    #expect(stats.resets == 2)
    #expect(stats.lastPlayedSequence == 45_012)
}

@Test func oneStraySequenceNumberDoesNotRestartTheStream() throws {
    let mixer = try AudioMixer(configuration: configuration())
    mixer.addPort(0)
    let talker = try TestTalker(ssrc: 1, frequency: 400, amplitude: 8_000)
    var now: Int64 = 0
    func step(_ packet: [UInt8]) {
        mixer.push(port: 0, packet: packet, audioLevelID: AudioTestSupport.levelID, nowMillis: now)
        _ = mixer.tick(nowMillis: now)
        now += 20
    }
    for _ in 0..<10 { step(try talker.next()) }
    // One packet claims to be 300 ahead (corrupt, or forged on plain RTP), then the stream goes on.
    talker.sequence &+= 300
    let stray = try talker.next()
    talker.sequence &-= 301
    mixer.push(port: 0, packet: stray, audioLevelID: AudioTestSupport.levelID, nowMillis: now)
    for _ in 0..<10 { step(try talker.next()) }
    let stats = mixer.stats(of: 0)!
    #expect(stats.resets == 0)
    #expect(stats.dropsLate == 1)
    #expect(stats.lastPlayedSequence == Int64(100 + 19 - 2))  // still playing the real stream, 2 ticks of playout delay
}
