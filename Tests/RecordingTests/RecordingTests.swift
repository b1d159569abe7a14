import Foundation
import Mixer
import RTP
import Recording
import Testing

// MARK: URIs

@Suite struct RecordingURITests {
    let root: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-uri-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base + "/rec/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/outside", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: base + "/rec/escape", withDestinationPath: base + "/outside")
        try FileManager.default.createSymbolicLink(atPath: base + "/rec/inner", withDestinationPath: base + "/rec/sub")
        try FileManager.default.createSymbolicLink(atPath: base + "/rec/file-out.webm", withDestinationPath: base + "/outside/x.webm")
        FileManager.default.createFile(atPath: base + "/outside/x.webm", contents: Data())
        root = base
    }

    @Test func acceptedRecordingURIs() throws {
        let dir = root + "/rec"
        let table: [(String, String)] = [
            ("file://\(dir)/a.webm", "\(dir)/a.webm"),
            ("file://localhost\(dir)/a.webm", "\(dir)/a.webm"),
            ("file://\(dir)/sub/b.mkv", "\(dir)/sub/b.mkv"),
            ("file://\(dir)/sub/../c.webm", "\(dir)/c.webm"),
            ("file://\(dir)/inner/d.webm", "\(dir)/sub/d.webm"),
            ("file://\(dir)/with%20space.webm", "\(dir)/with space.webm"),
            ("file://\(root)/outside/../rec/e.webm", "\(dir)/e.webm"),
        ]
        for (uri, expected) in table {
            #expect(try MediaURI.recordingPath(uri, directory: dir) == expected, "\(uri)")
        }
    }

    @Test func refusedRecordingURIs() {
        let dir = root + "/rec"
        let table: [(String, String)] = [
            ("file://\(dir)/../outside/a.webm", "outside the recording directory"),
            ("file://\(dir)/sub/../../a.webm", "outside the recording directory"),
            ("file://\(dir)/escape/a.webm", "outside the recording directory"),
            ("file://\(dir)/file-out.webm", "outside the recording directory"),
            ("file:///etc/passwd", "outside the recording directory"),
            ("file://\(dir)", "not a regular file"),
            ("file://\(dir)/", "names a directory"),
            ("file://\(dir)/sub", "not a regular file"),
            ("file://\(dir)/missing/a.webm", "does not exist"),
            ("http://example.com/a.webm", "unsupported URI scheme 'http'"),
            ("s3://bucket/a.webm", "unsupported URI scheme 's3'"),
            ("/tmp/a.webm", "is not a URI"),
            ("file://host/tmp/a.webm", "names a host"),
            ("file://\(dir)/bad%zz.webm", "percent-encoding"),
        ]
        for (uri, needle) in table {
            do {
                let p = try MediaURI.recordingPath(uri, directory: dir)
                Issue.record("\(uri) accepted as \(p)")
            } catch {
                #expect(error.kind == .illegal)
                #expect(error.message.contains(needle), "\(uri): \(error.message)")
            }
        }
    }

    @Test func playbackURIs() throws {
        #expect(try MediaURI.playbackSource("file://\(root)/outside/x.webm", httpAvailable: false) == .file("\(root)/outside/x.webm"))
        #expect(try MediaURI.playbackSource("http://127.0.0.1:1/x.webm", httpAvailable: true) == .http("http://127.0.0.1:1/x.webm"))
        let refused: [(String, Bool, MediaURIProblem.Kind, String)] = [
            ("file://\(root)/nope.webm", false, .notFound, "not found"),
            ("file://\(root)/outside", false, .illegal, "not a regular file"),
            ("http://127.0.0.1:1/x.webm", false, .illegal, "souphttpsrc"),
            ("rtsp://127.0.0.1/x", true, .illegal, "unsupported URI scheme 'rtsp'"),
        ]
        for (uri, http, kind, needle) in refused {
            do {
                _ = try MediaURI.playbackSource(uri, httpAvailable: http)
                Issue.record("\(uri) accepted")
            } catch {
                #expect(error.kind == kind && error.message.contains(needle), "\(uri): \(error.message)")
            }
        }
    }
}

// MARK: Timestamps

private let ms: Int64 = 1_000_000

@Suite struct RecordingTimelineTests {
    /// (stream, rtp, arrival ms) -> expected PTS ms (nil: not written).
    typealias Step = (RecordingTimeline.Stream, UInt32, Int64, Int64?)

    func run(_ steps: [Step], pauses: [(Int64, Int64)] = [], line: Int = #line) {
        var t = RecordingTimeline()
        var pending = pauses
        for (stream, rtp, at, expected) in steps {
            if let p = pending.first, at >= p.0 {
                t.pause(now: p.0 * ms)
                if at >= p.1 {
                    t.resume(now: p.1 * ms)
                    pending.removeFirst()
                }
            }
            let ssrc: UInt32 = stream == .audio ? 1 : 2
            let pts = t.pts(stream, ssrc: ssrc, rtp: rtp, now: 1_000_000 * ms + at * ms)
            #expect(pts.map { $0 / ms } == expected, "line \(line): \(stream) rtp \(rtp) at \(at) ms")
        }
    }

    @Test func audioAndVideoShareOneOrigin() {
        run([
            (.video, 90_000, 0, 0),  // the first frame written is time 0
            (.audio, 48_000, 10, 10),  // audio anchors on the same wall clock
            (.audio, 48_960, 30, 30),  // then follows its RTP clock (20 ms)
            (.video, 96_000, 75, 66),  // 6000 ticks at 90 kHz = 66.7 ms, whatever the arrival
            (.audio, 49_920, 90, 50),  // arrival jitter does not move audio
            (.video, 102_000, 140, 133),
        ])
    }

    @Test func lossAndWrapDoNotBreakTiming() {
        run([
            (.audio, UInt32.max - 959, 0, 0),
            (.audio, UInt32.max &+ 961, 40, 40),  // wrapped, 1920 ticks later
            (.audio, UInt32.max &+ 1921 + 9600, 260, 260),  // 10 packets lost: still on the RTP clock
            (.audio, UInt32.max &+ 961, 270, nil),  // a late duplicate is dropped
        ])
    }

    @Test func pauseLeavesNoGapAndNoOverlap() {
        // Record 0..3000 ms, pause 3000..5000, record on: the file goes on from about 3000.
        run([
            (.audio, 0, 0, 0),
            (.audio, 48 * 2960, 2960, 2960),
            (.audio, 48 * 2980, 2980, 2980),
            (.audio, 48 * 3000, 3000, nil),  // paused
            (.audio, 48 * 4000, 4000, nil),
            (.audio, 48 * 5020, 5020, 3020),  // anchored again after the pause
            (.audio, 48 * 5040, 5040, 3040),
            (.video, 90 * 5050, 5050, 3050),
        ], pauses: [(3000, 5000)])
    }

    @Test func senderJumpIsAnchoredAgain() {
        run([
            (.video, 1000, 0, 0),
            (.video, 1000 + 90 * 100, 100, 100),
            (.video, 1000 + 90 * 100_000, 200, 200),  // RTP jumped 100 s: follow the wall clock
            (.video, 1000 + 90 * 100_100, 300, 300),
        ])
    }

    @Test func newSSRCIsAnchoredAfterThePreviousFrame() {
        var t = RecordingTimeline()
        let a = t.pts(.video, ssrc: 1, rtp: 0, now: 0)
        let b = t.pts(.video, ssrc: 1, rtp: 3000, now: 20 * ms)  // RTP runs ahead of arrival
        // A new source arriving "before" the last frame in wall time goes on one frame after it.
        let c = t.pts(.video, ssrc: 2, rtp: 5, now: 30 * ms)
        let d = t.pts(.video, ssrc: 2, rtp: 3005, now: 60 * ms)
        #expect([a, b, c, d] == [0, 33_333_333, 66_666_666, 99_999_999])
    }

    @Test func playbackClockFollowsFileThenWallAfterJumps() {
        var c = PlaybackClock(clockRate: 90_000, initial: 1000)
        #expect(c.rtp(pts: 0, now: 0) == 1000)
        #expect(c.rtp(pts: 100 * ms, now: 101 * ms) == 1000 + 9000)  // follows the file, not the jitter
        c.discontinuity()  // a seek back to 0, 50 ms of wall time later
        #expect(c.rtp(pts: 0, now: 151 * ms) == 1000 + 9000 + 4500)
        #expect(c.rtp(pts: 40 * ms, now: 191 * ms) == 1000 + 9000 + 4500 + 3600)
        // A backwards jump without notice is treated the same way.
        #expect(c.rtp(pts: 10 * ms, now: 201 * ms) == 1000 + 9000 + 4500 + 3600 + 900)
    }
}

// MARK: VP8 capture

private func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

private func split(_ bytes: [UInt8], lengthBytes: Int) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var i = 0
    while i + lengthBytes <= bytes.count {
        var n = 0
        for k in 0..<lengthBytes { n = n << 8 | Int(bytes[i + k]) }
        i += lengthBytes
        out.append(Array(bytes[i..<(i + n)]))
        i += n
    }
    return out
}

@Suite struct VP8CaptureTests {
    @Test func capturedStreamDepacketizesIntoTheEncodedFrames() throws {
        let packets = split(try fixture("vp8.rtpstream"), lengthBytes: 2)
        let frames = split(try fixture("vp8-frames.bin"), lengthBytes: 4)
        #expect(packets.count == 39 && frames.count == 24)
        var assembler = VP8FrameAssembler()
        var got: [[UInt8]] = []
        var keys: [Bool] = []
        var timestamps: [UInt32] = []
        for p in packets {
            _ = assembler.push(p) { f in
                got.append(Array(f.data))
                keys.append(f.isKeyframe)
                timestamps.append(f.timestamp)
            }
        }
        #expect(got.count == frames.count && got == frames, "frames differ")
        #expect(keys == frames.map { $0[0] & 1 == 0 })
        #expect(zip(timestamps, timestamps.dropFirst()).allSatisfy { (5999...6001).contains($1 &- $0) })  // 15 fps at 90 kHz
        let size = frames[0].withUnsafeBytes { VP8Header.keyframeSize($0) }
        #expect(size?.width == 176 && size?.height == 144)
        #expect(frames[1].withUnsafeBytes { VP8Header.keyframeSize($0) } == nil)
    }

    @Test func lossInTheCaptureDropsFramesUntilTheNextKeyframe() throws {
        let packets = split(try fixture("vp8.rtpstream"), lengthBytes: 2)
        let frames = split(try fixture("vp8-frames.bin"), lengthBytes: 4)
        // Drop the packets of frame 2: frames 2..7 are lost, frame 8 (a keyframe) resumes.
        var assembler = VP8FrameAssembler()
        var got: [[UInt8]] = []
        let first = try RTPHeader.parse(packets[0]).timestamp
        for p in packets {
            let frameNumber = (Int(try RTPHeader.parse(p).timestamp &- first) + 3000) / 6000
            if frameNumber == 2 { continue }
            _ = assembler.push(p) { f in got.append(Array(f.data)) }
        }
        let expected = Array(frames[0..<2]) + Array(frames[8...])
        #expect(got.count == expected.count && got == expected, "got \(got.count) frames")
    }
}

// MARK: GStreamer round trip

@Test func recordingPipelineWritesAWebMThePlayerAccepts() throws {
    let frames = split(try fixture("vp8-frames.bin"), lengthBytes: 4)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-rec-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/capture.webm"
    let pipeline = try RecordingPipeline(
        path: path, container: .webm, videoSize: (176, 144), audio: false, onError: { print("error", $0) })
    for (i, f) in frames.enumerated() {
        f.withUnsafeBytes { pipeline.pushVideo($0, pts: Int64(i) * 66_666_667, keyframe: f[0] & 1 == 0) }
    }
    #expect(pipeline.finish() == nil)
    let info = try PlaybackDiscovery.discover(.file(path))
    #expect(info.hasVideo && !info.hasAudio)
    let seconds = Double(info.duration ?? 0) / 1e9
    #expect(seconds > 1.4 && seconds < 1.7, "duration \(seconds)")
}

@Test func discoveryRefusesWhatThePlayerCannotPlay() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-disc-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    FileManager.default.createFile(atPath: dir + "/text.webm", contents: Data("not a video".utf8))
    do {
        _ = try PlaybackDiscovery.discover(.file(dir + "/text.webm"))
        Issue.record("a text file was accepted")
    } catch {
        #expect(error.kind == .illegal)
    }
}
