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
public struct YUVColor: Sendable { public var y: UInt8, u: UInt8, v: UInt8
    public init(y: UInt8, u: UInt8, v: UInt8) { self.y = y; self.u = u; self.v = v }
    public init(red: UInt8, green: UInt8, blue: UInt8) { y = red; u = green; v = blue }
}
public struct VideoCompositorConfiguration: Sendable {
    public var width = 1280, height = 720, fps = 30, bitrate = 1_500_000, cpuUsed = -8, threads = 1
    public var background = YUVColor(y: 16, u: 128, v: 128)
    public var placeholder = YUVColor(y: 16, u: 128, v: 128)
    public var border = YUVColor(y: 16, u: 128, v: 128)
    public var highlight = YUVColor(y: 16, u: 128, v: 128)
    public var borderWidth = 2, freezeMillis = 3000
    public var payloadType: UInt8 = 96
    public var mtu = 1200
    public init() {}
}
public final class VideoCompositor {
    public init(configuration: VideoCompositorConfiguration = .init()) throws {}
    public func addPort(_ id: Int) {}
    public func removePort(_ id: Int) {}
    public var highlighted: Int?
    public func push(port: Int, packet: UnsafeRawBufferPointer, nowMillis: Int64) -> Bool { false }
    public func requestKeyframe() {}
    public func tick(nowMillis: Int64) -> [[UInt8]] { [] }
}
