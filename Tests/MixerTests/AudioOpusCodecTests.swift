import Mixer
import Testing

@Test func audioOpusRoundTripKeepsTheTone() throws {
    let encoder = try OpusEncoder(channels: 1, bitrate: 32_000, complexity: 5)
    let decoder = try OpusDecoder(channels: 1)
    var decoded: [Int16] = []
    for frame in 0..<25 {
        let packet = try encoder.encode(AudioTestSupport.sineFrame(frequency: 440, amplitude: 10_000, frame: frame))
        #expect(packet.count > 0 && packet.count < 400)
        decoded += try decoder.decode(packet)
    }
    #expect(decoded.count == 25 * 960)
    let tail = decoded[(decoded.count - 9600)...]
    #expect(AudioTestSupport.toneDB(tail, frequency: 440) > AudioTestSupport.toneDB(tail, frequency: 1000) + 30)
}

@Test func audioOpusStereoAndConcealment() throws {
    let encoder = try OpusEncoder(channels: 2, bitrate: 64_000, complexity: 5, fec: true, packetLossPercent: 20)
    let decoder = try OpusDecoder(channels: 2)
    let mono = AudioTestSupport.sineFrame(frequency: 300, amplitude: 8_000, frame: 0)
    let stereo = mono.flatMap { [$0, $0] }
    let packet = try encoder.encode(stereo)
    #expect(try decoder.decode(packet).count == 1920)
    // A missing frame: PLC, and FEC from the following packet.
    #expect(try decoder.decode(nil).count == 1920)
    let next = try encoder.encode(stereo)
    #expect(try decoder.decode(next, fec: true).count == 1920)
    decoder.reset()
    encoder.reset()
}

@Test func audioOpusErrorsCarryTheLibopusMessage() throws {
    let encoder = try OpusEncoder()
    #expect(throws: OpusError.self) { try encoder.setComplexity(42) }
    do {
        try encoder.setComplexity(42)
    } catch {
        #expect(error.code == -1)
        #expect(error.message == "invalid argument")
    }
    let decoder = try OpusDecoder()
    // A packet whose code-3 header asks for more frames than fit (RFC 6716 §3.2.5): corrupt.
    #expect(throws: OpusError.self) { _ = try decoder.decode([0xFB, 0x3F]) }
}
