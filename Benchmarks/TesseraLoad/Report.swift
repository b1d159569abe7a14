import Foundation
import JSONRPC

/// What a run measured; printed as text or as one JSON object (`--json`).
struct Report {
    struct Decoded {
        var participant: String
        var ownHz: Int?
        var ownLevel: Double?
        var heardHz: [Int]
        var expectedHz: [Int]
        /// The decoded video (`kurento --video-colours`).
        var colour: Colour?
    }

    /// What a participant decoded of the video it got back, against the colour it sends.
    struct Colour {
        var own: RGB
        /// The centre of the last picture decoded.
        var seen: RGB?
        /// The participant whose colour is nearest to `seen`.
        var nearest: String?
        /// `seen` is within tolerance of `own`, and no other participant's colour is nearer.
        var matches: Bool
        var framesDecoded: UInt64
        /// Pictures (over the whole run) whose centre was not its own colour.
        var framesOffColour: UInt64
        var keyframeRequests: UInt64
    }

    var scenario: String
    var mode: String
    var room: String
    var peers: Int
    var connected = 0
    var failed = 0
    var failures: [String: Int] = [:]
    var setupMillis: [Double] = []
    var windowSeconds = 0.0
    var receivedPerParticipant: [Double] = []
    var receivedPerSecond = 0.0
    var videoFramesPerParticipant: [Double] = []
    var videoPacketsPerSecond = 0.0
    var keyframes: UInt64 = 0
    /// Server CPU time per packet the participants received (every packet it sent them).
    var serverMicrosPerPacketOut: Double?
    var sentPerSecond = 0.0
    var loss = 0.0
    var jitterMillis: [Double] = []
    var decoded: [Decoded] = []
    var serverCPUPercent: Double?
    var serverRSSBytes: Int?
    var generatorCPUPercent: Double?
    var generatorRSSBytes: Int?
    var generatorLoops = 0
    /// RTP packets sent and received by every peer over the whole run (setup included).
    var totalSent: UInt64 = 0
    var totalReceived: UInt64 = 0

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    private static func round(_ x: Double, _ digits: Double = 100) -> JSONValue { .double((x * digits).rounded() / digits) }
    private static func json(_ c: RGB) -> JSONValue { [.int(Int64(c.red)), .int(Int64(c.green)), .int(Int64(c.blue))] }
    private static func text(_ c: RGB?) -> String { c.map { "(\($0.red), \($0.green), \($0.blue))" } ?? "none" }

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "scenario": .string(scenario), "mode": .string(mode), "room": .string(room),
            "peers": .int(Int64(peers)), "connected": .int(Int64(connected)), "failed": .int(Int64(failed)),
            "failures": .object(failures.mapValues { .int(Int64($0)) }),
            "setupMillis": ["p50": Self.round(Self.percentile(setupMillis, 0.5), 1), "p99": Self.round(Self.percentile(setupMillis, 0.99), 1)],
            "windowSeconds": Self.round(windowSeconds),
            "receivedPacketsPerSecondPerParticipant": [
                "min": Self.round(receivedPerParticipant.min() ?? 0), "p50": Self.round(Self.percentile(receivedPerParticipant, 0.5)),
            ],
            "receivedPacketsPerSecond": Self.round(receivedPerSecond, 1),
            "sentPacketsPerSecond": Self.round(sentPerSecond, 1),
            "loss": Self.round(loss, 10_000),
            "jitterMillis": ["p50": Self.round(Self.percentile(jitterMillis, 0.5)), "max": Self.round(jitterMillis.max() ?? 0)],
            "decodeSample": .array(decoded.map { d in
                var entry: [String: JSONValue] = [
                    "participant": .string(d.participant), "ownHz": d.ownHz.map { .int(Int64($0)) } ?? .null,
                    "ownLevel": d.ownLevel.map { Self.round($0, 1000) } ?? .null,
                    "heardHz": .array(d.heardHz.map { .int(Int64($0)) }), "expectedHz": .array(d.expectedHz.map { .int(Int64($0)) }),
                ]
                if let c = d.colour {
                    entry["ownColour"] = Self.json(c.own)
                    entry["seenColour"] = c.seen.map(Self.json) ?? .null
                    entry["nearestColourOf"] = c.nearest.map { .string($0) } ?? .null
                    entry["colourMatches"] = .bool(c.matches)
                    entry["framesDecoded"] = .int(Int64(clamping: c.framesDecoded))
                    entry["framesOffColour"] = .int(Int64(clamping: c.framesOffColour))
                    entry["keyframeRequestsSent"] = .int(Int64(clamping: c.keyframeRequests))
                }
                return .object(entry)
            }),
        ]
        if !videoFramesPerParticipant.isEmpty {
            o["video"] = [
                "framesPerSecondPerViewer": [
                    "min": Self.round(videoFramesPerParticipant.min() ?? 0), "p50": Self.round(Self.percentile(videoFramesPerParticipant, 0.5)),
                ],
                "receivedPacketsPerSecond": Self.round(videoPacketsPerSecond, 1), "keyframes": .int(Int64(clamping: keyframes)),
            ]
        }
        var server: [String: JSONValue] = [:]
        if let us = serverMicrosPerPacketOut { server["microsPerPacketSent"] = Self.round(us) }
        if let c = serverCPUPercent {
            server["cpuPercent"] = Self.round(c)
            server["cpuPercentPerParticipant"] = Self.round(c / Double(max(connected, 1)), 10_000)
        }
        if let r = serverRSSBytes {
            server["rssMB"] = Self.round(Double(r) / 1e6, 10)
        }
        o["server"] = .object(server)
        var generator: [String: JSONValue] = ["loops": .int(Int64(generatorLoops))]
        if let c = generatorCPUPercent {
            generator["cpuPercent"] = Self.round(c)
            generator["cpuPercentPerParticipant"] = Self.round(c / Double(max(connected, 1)), 10_000)
        }
        if let r = generatorRSSBytes { generator["rssMB"] = Self.round(Double(r) / 1e6, 10) }
        o["generator"] = .object(generator)
        o["totals"] = ["sentPackets": .int(Int64(clamping: totalSent)), "receivedPackets": .int(Int64(clamping: totalReceived))]
        return .object(o)
    }

    var text: String {
        var lines = [
            "\(scenario) (\(mode)) room \(room): \(connected)/\(peers) connected, \(failed) failed",
            String(format: "  setup p50 %.0f ms, p99 %.0f ms", Self.percentile(setupMillis, 0.5), Self.percentile(setupMillis, 0.99)),
            String(format: "  received per participant: min %.1f, p50 %.1f packets/s; total in %.0f/s, out %.0f/s; loss %.2f%%",
                   receivedPerParticipant.min() ?? 0, Self.percentile(receivedPerParticipant, 0.5), receivedPerSecond, sentPerSecond, loss * 100),
        ]
        if !videoFramesPerParticipant.isEmpty {
            lines.append(String(format: "  video per viewer: min %.1f, p50 %.1f frames/s; %.0f video packets/s in all; %llu keyframes",
                                videoFramesPerParticipant.min() ?? 0, Self.percentile(videoFramesPerParticipant, 0.5), videoPacketsPerSecond, keyframes))
        }
        if let us = serverMicrosPerPacketOut { lines.append(String(format: "  server CPU per packet it sent: %.1f us", us)) }
        for (reason, count) in failures.sorted(by: { $0.value > $1.value }) { lines.append("  failure x\(count): \(reason)") }
        for d in decoded {
            lines.append("  \(d.participant) hears \(d.heardHz) of \(d.expectedHz) Hz; own tone \(d.ownHz.map(String.init) ?? "none") level \(d.ownLevel.map { String(format: "%.3f", $0) } ?? "-")")
            if let c = d.colour {
                lines.append("    sees \(Self.text(c.seen)) (nearest: \(c.nearest ?? "-")'s colour) of its own \(Self.text(c.own)): \(c.matches ? "match" : "NO MATCH"); \(c.framesDecoded) frames decoded, \(c.framesOffColour) off colour")
            }
        }
        if let c = serverCPUPercent, let r = serverRSSBytes {
            lines.append(String(format: "  server: CPU %.1f%% (%.3f%% per participant), RSS %.0f MB", c, c / Double(max(connected, 1)), Double(r) / 1e6))
        }
        if let c = generatorCPUPercent {
            lines.append(String(format: "  generator: CPU %.1f%% over %d loops (%.3f%% per participant)", c, generatorLoops, c / Double(max(connected, 1))))
        }
        return lines.joined(separator: "\n")
    }
}
