import RTP
import CMixKernels
import Foundation

/// Mix-minus audio conference mixer (docs/mixer.md). Pure: no IO, no locks,
/// no clock; the owner pushes received RTP packets and calls `tick` every
/// 20 ms. Per tick it plays one frame per input out of its jitter buffer,
/// decodes only inputs that are not silent, picks the loudest K with
/// hysteresis, sums them once, and encodes the shared mix once (for every
/// port not in the mix) plus one "mix minus me" per mixed speaker.
///
/// Steady state allocates nothing per push or tick, as long as the caller
/// drops each returned `AudioTick` before the next tick.
public final class AudioMixer {
    public let configuration: AudioMixerConfiguration
    let samplesPerFrame: Int  // per tick, all channels

    private var ports: [AudioInputPort] = []
    private var portIndex: [Int: Int] = [:]
    /// Index 0: the shared mix; 1...K: the speaker streams.
    private var streams: [AudioOutputStream] = []
    /// Mixes without some speakers, for listeners who muted them (receiver-side
    /// mute): one per distinct set of subtracted ports, made on first need.
    private var personalStreams: [AudioOutputStream] = []
    private var personalTotal: [Int32]
    private var total: [Int32]
    private var scratch: [UInt8]
    private var output = AudioTick()
    private var spareBuffers: [[UInt8]] = []
    private var random: SplitMix64

    private var dominant: AudioInputPort?
    private var dominantChallenger: AudioInputPort?
    private var dominantChallengeTicks = 0

    /// Decode calls made so far (packets, FEC and PLC), for tests and metrics.
    public private(set) var decodeCount = 0
    /// Ticks run so far.
    public private(set) var tickCount = 0

    public init(configuration: AudioMixerConfiguration = .init()) throws {
        precondition(configuration.channels == 1 || configuration.channels == 2)
        precondition(configuration.maxSpeakers >= 0)
        self.configuration = configuration
        samplesPerFrame = Opus.samplesPerFrame * configuration.channels
        total = [Int32](repeating: 0, count: samplesPerFrame)
        personalTotal = [Int32](repeating: 0, count: samplesPerFrame)
        scratch = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        random = SplitMix64(seed: configuration.ssrcSeed ?? UInt64.random(in: .min ... .max))
        for _ in 0...configuration.maxSpeakers {
            streams.append(try makeStream())
        }
        for _ in 0...configuration.maxSpeakers {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(12 + Opus.maxPacketBytes)
            spareBuffers.append(buffer)
        }
        output.packets.reserveCapacity(configuration.maxSpeakers + 1)
    }

    private func makeStream() throws(OpusError) -> AudioOutputStream {
        let encoder = try OpusEncoder(
            channels: configuration.channels, application: .voip, bitrate: configuration.bitrate,
            complexity: configuration.complexity, fec: configuration.fec, dtx: configuration.dtx,
            packetLossPercent: configuration.fec ? configuration.packetLossPercent : 0)
        let stream = AudioOutputStream(encoder: encoder, samples: samplesPerFrame)
        stream.begin(ssrc: random.nextSSRC(), sequence: UInt16(truncatingIfNeeded: random.next()),
                     timestamp: UInt32(truncatingIfNeeded: random.next()))
        return stream
    }

    // MARK: Ports

    public func addPort(_ id: Int) {
        guard portIndex[id] == nil else { return }
        let decoder: OpusDecoder
        do { decoder = try OpusDecoder(channels: configuration.channels) } catch {
            preconditionFailure("cannot create an Opus decoder: \(error)")
        }
        let port = AudioInputPort(id: id, decoder: decoder, configuration: configuration, samples: samplesPerFrame)
        portIndex[id] = ports.count
        ports.append(port)
        output.route[id] = 0
    }

    public func removePort(_ id: Int) {
        guard let index = portIndex.removeValue(forKey: id) else { return }
        let port = ports[index]
        if let stream = port.stream { stream.owner = nil }
        port.stream = nil
        port.personal = nil
        if dominant === port { dominant = nil }
        if dominantChallenger === port { dominantChallenger = nil }
        let last = ports.removeLast()
        if index < ports.count {
            ports[index] = last
            portIndex[last.id] = index
        }
        output.route.removeValue(forKey: id)
    }

    public var portIDs: [Int] { ports.map(\.id) }

    /// Receiver-side mute: the listener on port `id` stops hearing the ports
    /// in `excluded`. While none of them is among the mixed speakers nothing
    /// changes; when one is, the listener gets a mix without it (one extra
    /// encode per distinct set, shared by every listener with that set).
    public func setExcluded(_ excluded: Set<Int>, forListener id: Int) {
        guard let index = portIndex[id] else { return }
        ports[index].excluded = excluded.subtracting([id])
    }

    public func excluded(forListener id: Int) -> Set<Int> {
        portIndex[id].map { ports[$0].excluded } ?? []
    }

    // MARK: Input

    /// One received Opus RTP packet (the whole packet, plain RTP after SRTP).
    /// `audioLevelID`: the RFC 6464 extension id negotiated by its sender, if any.
    public func push(port id: Int, packet: UnsafeRawBufferPointer, audioLevelID: UInt8?, nowMillis: Int64) {
        guard let index = portIndex[id] else { return }
        let port = ports[index]
        guard let header = try? RTPHeader.parse(packet), header.payloadLength > 0 else {
            port.stats.dropsMalformed += 1
            return
        }
        var level: Int16 = -1
        if let levelID = audioLevelID, let audioLevel = AudioLevel.read(id: levelID, header: header, in: packet) {
            level = Int16(audioLevel.level)
        }
        if port.ssrc != header.ssrc {
            if port.ssrc != nil { port.restart() }
            port.ssrc = header.ssrc
        }
        port.lastArrival = nowMillis
        let payload = UnsafeRawBufferPointer(rebasing: packet[header.payloadRange])
        switch port.jitter.insert(sequence: header.sequenceNumber, payload: payload, level: level) {
        case .stored: port.stats.received += 1
        case .restarted:
            port.stats.received += 1
            port.stats.resets += 1
            port.decoderStale = true
        case .late: port.stats.dropsLate += 1
        case .duplicate: port.stats.dropsDuplicate += 1
        case .tooLarge: port.stats.dropsMalformed += 1
        }
    }

    /// Same, from an array (tests, tools).
    public func push(port id: Int, packet: [UInt8], audioLevelID: UInt8?, nowMillis: Int64) {
        packet.withUnsafeBytes { push(port: id, packet: $0, audioLevelID: audioLevelID, nowMillis: nowMillis) }
    }

    // MARK: Tick

    /// One 20 ms tick: returns the RTP packets of this tick and which one each port gets.
    public func tick(nowMillis: Int64) -> AudioTick {
        tickCount += 1
        for port in ports {
            if port.jitter.started && nowMillis - port.lastArrival > configuration.idleResetMillis {
                port.restart()
            }
            play(port)
            port.updateLevel(attack: configuration.levelAttack, release: configuration.levelRelease)
        }
        selectSpeakers()
        selectDominant()
        mix()
        let encodeStart = ContinuousClock.now
        emit()
        lastEncodeTime = ContinuousClock.now - encodeStart
        return output
    }

    /// How long the last tick's encoding (every distinct mix, and packetizing) took.
    public private(set) var lastEncodeTime: Duration = .zero

    /// Takes this tick's frame of one input out of its jitter buffer and
    /// decodes it, unless it is silent.
    private func play(_ port: AudioInputPort) {
        port.hasAudio = false
        port.instantLoudness = 0
        let silenceLevel = Int16(configuration.silenceLevel)
        switch port.jitter.next() {
        case .waiting:
            port.talking = false
        case .packet(let slot):
            port.stats.lastPlayedSequence = port.jitter.nextSequence - 1
            port.concealTicks = 0
            let level = port.jitter.levels[slot]
            if level >= silenceLevel {
                // Silent by the sender's own measure: do not decode at all.
                port.stats.skippedSilent += 1
                port.decoderStale = true
                port.talking = false
                return
            }
            if port.decoderStale { port.decoder.reset(); port.decoderStale = false }
            let ok = decode(port) { decoder, pcm in
                try port.jitter.withPayload(slot: slot) { (payload) throws(OpusError) -> Int in
                    try decoder.decode(payload, into: pcm)
                }
            }
            guard ok else { return }
            port.stats.decoded += 1
            if level >= 0 {
                port.instantLoudness = Double(127 - level)
            } else {
                port.instantLoudness = port.measureLoudness()
            }
            port.talking = port.instantLoudness > Double(127 - Int(silenceLevel))
        case .lost(let nextSlot):
            port.concealTicks = 0
            guard port.talking, !port.decoderStale else { return }
            let ok: Bool
            if let nextSlot, port.jitter.levels[nextSlot] < silenceLevel {
                ok = decode(port) { decoder, pcm in
                    try port.jitter.withPayload(slot: nextSlot) { (payload) throws(OpusError) -> Int in
                        try decoder.decode(payload, into: pcm, fec: true)
                    }
                }
                if ok { port.stats.fecRecovered += 1 }
            } else {
                ok = decode(port) { decoder, pcm in try decoder.decode(nil, into: pcm) }
                if ok { port.stats.concealed += 1 }
            }
            if ok { port.instantLoudness = port.lastLoudness }
        case .underrun:
            port.concealTicks += 1
            guard port.talking, !port.decoderStale, port.concealTicks <= configuration.maxConcealTicks else {
                port.talking = false
                return
            }
            if decode(port, { decoder, pcm in try decoder.decode(nil, into: pcm) }) {
                port.stats.concealed += 1
                port.instantLoudness = port.lastLoudness
            }
        }
    }

    /// Runs one decode call into the port's frame; false (and a stale decoder) on error.
    private func decode(
        _ port: AudioInputPort, _ body: (OpusDecoder, UnsafeMutablePointer<Int16>) throws -> Int
    ) -> Bool {
        decodeCount += 1
        let decoder = port.decoder
        let written = port.pcm.withUnsafeMutableBufferPointer { (pcm) -> Int in
            do { return try body(decoder, pcm.baseAddress!) } catch { return -1 }
        }
        guard written == Opus.samplesPerFrame else {
            port.decoderStale = true
            port.stats.dropsMalformed += 1
            return false
        }
        port.hasAudio = true
        return true
    }

    // MARK: Speaker selection

    private var eligibleLoudness: Double { Double(127 - Int(configuration.silenceLevel)) }

    private func selectSpeakers() {
        let k = configuration.maxSpeakers
        let floor = eligibleLoudness
        // Incumbents that fell silent leave.
        for stream in streams.dropFirst() {
            if let owner = stream.owner, owner.smoothed <= floor {
                owner.stream = nil
                stream.owner = nil
            }
        }
        var mixed = 0
        var weakest: AudioInputPort?
        for stream in streams.dropFirst() {
            guard let owner = stream.owner else { continue }
            mixed += 1
            if weakest == nil || owner.smoothed < weakest!.smoothed { weakest = owner }
        }
        // Free places go to the loudest candidates at once.
        while mixed < k {
            var best: AudioInputPort?
            for port in ports where port.stream == nil && port.smoothed > floor {
                if best == nil || port.smoothed > best!.smoothed { best = port }
            }
            guard let best else { break }
            assign(best)
            mixed += 1
        }
        guard mixed == k, k > 0, let weakest = weakestMixed() else {
            for port in ports { port.challengeTicks = 0 }
            return
        }
        // A full mix changes only for a challenger clearly louder for a while.
        let bar = weakest.smoothed + configuration.switchMarginDB
        var challenger: AudioInputPort?
        for port in ports {
            if port.stream == nil && port.smoothed > bar {
                port.challengeTicks += 1
                if challenger == nil || port.challengeTicks > challenger!.challengeTicks
                    || (port.challengeTicks == challenger!.challengeTicks && port.smoothed > challenger!.smoothed)
                {
                    challenger = port
                }
            } else {
                port.challengeTicks = 0
            }
        }
        if let challenger, challenger.challengeTicks >= configuration.switchHoldTicks {
            let stream = weakest.stream!
            weakest.stream = nil
            stream.owner = nil
            challenger.challengeTicks = 0
            assign(challenger)
        }
    }

    private func weakestMixed() -> AudioInputPort? {
        var weakest: AudioInputPort?
        for stream in streams.dropFirst() {
            guard let owner = stream.owner else { continue }
            if weakest == nil || owner.smoothed < weakest!.smoothed { weakest = owner }
        }
        return weakest
    }

    /// Gives `port` a free speaker stream: a new SSRC, fresh encoder and limiter.
    private func assign(_ port: AudioInputPort) {
        guard let stream = streams.dropFirst().first(where: { $0.owner == nil }) else { return }
        stream.owner = port
        port.stream = stream
        port.challengeTicks = 0
        port.fadeIn = true
        stream.begin(ssrc: random.nextSSRC(), sequence: stream.sequence, timestamp: stream.timestamp)
    }

    private func selectDominant() {
        guard let current = dominant, current.stream != nil else {
            var loudest: AudioInputPort?
            for stream in streams.dropFirst() {
                guard let owner = stream.owner else { continue }
                if loudest == nil || owner.smoothed > loudest!.smoothed { loudest = owner }
            }
            dominant = loudest
            dominantChallenger = nil
            dominantChallengeTicks = 0
            return
        }
        var loudest: AudioInputPort?
        for stream in streams.dropFirst() {
            guard let owner = stream.owner, owner !== current else { continue }
            if loudest == nil || owner.smoothed > loudest!.smoothed { loudest = owner }
        }
        guard let loudest, loudest.smoothed > current.smoothed + configuration.switchMarginDB else {
            dominantChallenger = nil
            dominantChallengeTicks = 0
            return
        }
        if dominantChallenger === loudest {
            dominantChallengeTicks += 1
        } else {
            dominantChallenger = loudest
            dominantChallengeTicks = 1
        }
        if dominantChallengeTicks >= configuration.switchHoldTicks {
            dominant = loudest
            dominantChallenger = nil
            dominantChallengeTicks = 0
        }
    }

    // MARK: Mix and encode

    private func mix() {
        let count = samplesPerFrame
        var first = true
        total.withUnsafeMutableBufferPointer { total in
            for stream in streams.dropFirst() {
                guard let owner = stream.owner else { continue }
                let fadeIn = owner.fadeIn
                owner.fadeIn = false
                guard owner.hasAudio else { continue }
                if fadeIn {
                    owner.pcm.withUnsafeMutableBufferPointer { tessera_fade_in_i16($0.baseAddress!, count, count / 2) }
                }
                owner.pcm.withUnsafeBufferPointer { pcm in
                    if first {
                        tessera_mix_first(total.baseAddress!, pcm.baseAddress!, count)
                    } else {
                        tessera_mix_add(total.baseAddress!, pcm.baseAddress!, count)
                    }
                }
                first = false
            }
            if first { tessera_mix_zero(total.baseAddress!, count) }
        }
    }

    private func emit() {
        var emitted = 0
        for (index, stream) in streams.enumerated() {
            guard index == 0 || stream.owner != nil else { continue }
            let own = stream.owner.flatMap { $0.hasAudio ? $0 : nil }
            stream.limit(total: total, own: own)
            append(stream, at: &emitted)
        }
        emitted = emitPersonal(from: emitted)
        while output.packets.count > emitted {
            var buffer = output.packets.removeLast()
            buffer.removeAll(keepingCapacity: true)
            spareBuffers.append(buffer)
        }
        for port in ports {
            let index = port.personal?.packetIndex ?? port.stream?.packetIndex ?? 0
            if output.route[port.id] != index { output.route[port.id] = index }
        }
    }

    /// Streams for listeners who excluded a speaker that is in the mix this
    /// tick: total minus the excluded (and minus themselves when mixed).
    private func emitPersonal(from start: Int) -> Int {
        var emitted = start
        for stream in personalStreams { stream.users = 0 }
        // Each listener's set of ports to take out this tick.
        for port in ports {
            port.personalKey.removeAll(keepingCapacity: true)
            guard !port.excluded.isEmpty else {
                port.personal = nil
                continue
            }
            for stream in streams.dropFirst() {
                guard let owner = stream.owner, owner.hasAudio, owner !== port, port.excluded.contains(owner.id) else { continue }
                port.personalKey.append(owner.id)
            }
            if port.personalKey.isEmpty {
                port.personal = nil
                continue
            }
            if port.stream != nil && port.hasAudio { port.personalKey.append(port.id) }
            port.personalKey.sort()
            // Keep the stream it had when its set is unchanged.
            if let current = port.personal, current.key == port.personalKey { current.users += 1 } else { port.personal = nil }
        }
        for port in ports where port.personal == nil && !port.personalKey.isEmpty {
            if let same = personalStreams.first(where: { $0.users > 0 && $0.key == port.personalKey }) {
                same.users += 1
                port.personal = same
                continue
            }
            let stream: AudioOutputStream
            if let free = personalStreams.first(where: { $0.users == 0 }) {
                stream = free
            } else {
                guard let made = try? makeStream() else { continue }  // cannot happen after init succeeded
                personalStreams.append(made)
                stream = made
            }
            stream.key = port.personalKey
            stream.begin(ssrc: random.nextSSRC(), sequence: stream.sequence, timestamp: stream.timestamp)
            stream.users = 1
            port.personal = stream
        }
        let count = samplesPerFrame
        for stream in personalStreams where stream.users > 0 {
            personalTotal.withUnsafeMutableBufferPointer { sum in
                total.withUnsafeBufferPointer { tessera_mix_copy(sum.baseAddress!, $0.baseAddress!, count) }
                for id in stream.key {
                    guard let index = portIndex[id] else { continue }
                    ports[index].pcm.withUnsafeBufferPointer { tessera_mix_sub(sum.baseAddress!, $0.baseAddress!, count) }
                }
            }
            stream.limit(total: personalTotal, own: nil)
            append(stream, at: &emitted)
        }
        return emitted
    }

    /// Encodes `stream` into the tick's packet `emitted` (reusing buffers) and moves on.
    private func append(_ stream: AudioOutputStream, at emitted: inout Int) {
        if emitted == output.packets.count {
            output.packets.append(spareBuffers.popLast() ?? [])
        }
        stream.encode(into: &output.packets[emitted], scratch: &scratch, payloadType: configuration.payloadType)
        stream.packetIndex = emitted
        emitted += 1
    }

    // MARK: Observers

    /// Ports in the current mix (top K), in stream order.
    public var mixedSpeakers: [Int] { streams.dropFirst().compactMap { $0.owner?.id } }

    /// The loudest mixed speaker, with hysteresis.
    public var dominantSpeaker: Int? { dominant?.id }

    /// Smoothed level of a port in dBov (-127 silence ... 0 loudest), nil for an unknown port.
    public func level(of port: Int) -> Double? {
        portIndex[port].map { ports[$0].smoothed - 127 }
    }

    /// True while a port's smoothed level is above `silenceLevel` (for "participantSpeaking").
    public func isSpeaking(_ port: Int) -> Bool {
        portIndex[port].map { ports[$0].smoothed > eligibleLoudness } ?? false
    }

    public func stats(of port: Int) -> AudioPortStats? {
        portIndex[port].map { ports[$0].stats }
    }

    /// The PCM (after the limiter) that `port` hears in the last tick's packet (allocates).
    public func lastOutputPCM(for port: Int) -> [Int16]? {
        guard let index = portIndex[port] else { return nil }
        return (ports[index].personal ?? ports[index].stream ?? streams[0]).pcm
    }
}

/// One input: its decoder, jitter buffer, this tick's frame and level.
final class AudioInputPort {
    let id: Int
    let decoder: OpusDecoder
    var jitter: AudioJitterBuffer
    var pcm: [Int16]
    var ssrc: UInt32?
    var lastArrival: Int64 = 0
    /// The decoder missed frames (silence skipped, error): reset before the next decode.
    var decoderStale = false
    var hasAudio = false
    var talking = false
    var concealTicks = 0
    /// 0 (silence) ... 127 (0 dBov); this tick and smoothed.
    var instantLoudness = 0.0
    var lastLoudness = 0.0
    var smoothed = 0.0
    var challengeTicks = 0
    /// Entered the mix this tick: its first mixed frame fades in.
    var fadeIn = false
    /// The speaker stream of this port while it is in the mix.
    var stream: AudioOutputStream?
    /// Ports this listener does not want to hear, and this tick's personal mix.
    var excluded: Set<Int> = []
    var personalKey: [Int] = []
    var personal: AudioOutputStream?
    var stats = AudioPortStats()

    init(id: Int, decoder: OpusDecoder, configuration: AudioMixerConfiguration, samples: Int) {
        self.id = id
        self.decoder = decoder
        jitter = AudioJitterBuffer(
            slots: configuration.jitterSlots, slotBytes: configuration.maxPayloadBytes,
            delayTicks: configuration.playoutDelayTicks)
        pcm = [Int16](repeating: 0, count: samples)
    }

    func restart() {
        jitter.reset()
        decoderStale = true
        talking = false
        stats.resets += 1
    }

    func updateLevel(attack: Double, release: Double) {
        if hasAudio { lastLoudness = instantLoudness }
        let x = instantLoudness
        smoothed += (x > smoothed ? attack : release) * (x - smoothed)
    }

    /// Loudness of the decoded frame, 127 + dBov of its RMS (a full-scale sine is -3 dBov).
    func measureLoudness() -> Double {
        let energy = pcm.withUnsafeBufferPointer { tessera_energy_i16($0.baseAddress!, $0.count) }
        guard energy > 0 else { return 0 }
        let meanSquare = Double(energy) / Double(pcm.count)
        let dBov = 10 * log10(meanSquare / (32768.0 * 32768.0))
        return max(0, min(127, 127 + dBov))
    }
}

/// One produced stream: the shared mix or one speaker's "mix minus me".
final class AudioOutputStream {
    let encoder: OpusEncoder
    var limiter = tessera_limiter()
    var pcm: [Int16]
    unowned(unsafe) var owner: AudioInputPort?
    var ssrc: UInt32 = 0
    var sequence: UInt16 = 0
    var timestamp: UInt32 = 0
    var marker = true
    var packetIndex = 0
    /// Personal streams: the ports subtracted, and how many listeners take it this tick.
    var key: [Int] = []
    var users = 0

    init(encoder: OpusEncoder, samples: Int) {
        self.encoder = encoder
        pcm = [Int16](repeating: 0, count: samples)
        tessera_limiter_init(&limiter)
    }

    /// Starts a new stream on this encoder (new SSRC; sequence and timestamp carry on).
    func begin(ssrc: UInt32, sequence: UInt16, timestamp: UInt32) {
        self.ssrc = ssrc
        self.sequence = sequence
        self.timestamp = timestamp
        marker = true
        encoder.reset()
        tessera_limiter_init(&limiter)
    }

    func limit(total: [Int32], own: AudioInputPort?) {
        let count = pcm.count
        pcm.withUnsafeMutableBufferPointer { out in
            total.withUnsafeBufferPointer { total in
                if let own {
                    own.pcm.withUnsafeBufferPointer { ownPCM in
                        _ = tessera_mix_out(out.baseAddress!, total.baseAddress!, ownPCM.baseAddress!, count, &limiter)
                    }
                } else {
                    _ = tessera_mix_out(out.baseAddress!, total.baseAddress!, nil, count, &limiter)
                }
            }
        }
    }

    /// Encodes `pcm` and writes the complete RTP packet into `packet` (reusing its storage).
    func encode(into packet: inout [UInt8], scratch: inout [UInt8], payloadType: UInt8) {
        let encoder = self.encoder
        let samplesPerChannel = pcm.count / encoder.channels
        let length = pcm.withUnsafeBufferPointer { pcm in
            scratch.withUnsafeMutableBytes { bytes in
                (try? encoder.encode(pcm.baseAddress!, samplesPerChannel: samplesPerChannel, into: bytes)) ?? -1
            }
        }
        packet.removeAll(keepingCapacity: true)
        packet.append(0x80)
        packet.append((marker ? 0x80 : 0) | (payloadType & 0x7F))
        packet.append(UInt8(truncatingIfNeeded: sequence >> 8))
        packet.append(UInt8(truncatingIfNeeded: sequence))
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8(truncatingIfNeeded: timestamp >> shift)) }
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8(truncatingIfNeeded: ssrc >> shift)) }
        if length > 0 {
            scratch.withUnsafeBytes { packet.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
        } else {
            // Encoder failure (not expected): an empty 20 ms CELT frame keeps the stream going.
            packet.append(0xF8)
        }
        marker = false
        sequence &+= 1
        timestamp &+= UInt32(samplesPerChannel)
    }
}

/// SplitMix64: a small deterministic generator for SSRCs (seeded by the configuration).
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextSSRC() -> UInt32 {
        var value: UInt32 = 0
        while value == 0 { value = UInt32(truncatingIfNeeded: next() >> 16) }
        return value
    }
}
