// LOCAL STUBS ONLY - never commit (replaced by the audio/video branches).
public struct AudioMixerConfiguration: Sendable {
    public var maxSpeakers = 3, playoutDelayTicks = 2, bitrate = 32_000, complexity = 5
    public var payloadType: UInt8 = 111
    public var fec = true, dtx = false
    public var channels = 1
    public init() {}
}
public final class AudioMixer {
    public init(configuration: AudioMixerConfiguration = .init()) throws {}
    public func addPort(_ id: Int) {}
    public func removePort(_ id: Int) {}
    public func push(port: Int, packet: UnsafeRawBufferPointer, audioLevelID: UInt8?, nowMillis: Int64) {}
    public func tick(nowMillis: Int64) -> AudioTick { AudioTick() }
    public var mixedSpeakers: [Int] { [] }
    public var dominantSpeaker: Int? { nil }
}
public struct AudioTick { public var packets: [[UInt8]] = []; public var route: [Int: Int] = [:] }
