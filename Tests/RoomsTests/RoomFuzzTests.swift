import JSONRPC
import TestSupport
import Testing
@testable import Rooms
import FuzzSupport

/// Structure-aware fuzzing of the room protocol: valid requests of every
/// method with values replaced, keys dropped or added and methods swapped,
/// from several clients at once. Each request with an id gets exactly one
/// well-formed answer, the rooms keep working, and when everyone has left
/// every media object is released.
@Suite struct RoomFuzzTests {
    typealias Rng = SeededRandom

    static let corpus: [JSONValue] = [
        ["method": "joinRoom", "params": ["user": "u", "room": "r", "extensions": ["mode", "layout", "speaking", "mute", "recording"]]],
        ["method": "joinRoom", "params": ["user": "m", "room": "r", "mode": "mcu"]],
        ["method": "publishVideo", "params": ["sdpOffer": "offer", "doLoopback": false]],
        ["method": "unpublishVideo", "params": [:]],
        ["method": "receiveVideoFrom", "params": ["sender": "a_webcam", "sdpOffer": "o"]],
        ["method": "receiveVideoFrom", "params": ["sender": "$mcu_composite", "sdpOffer": "o"]],
        ["method": "unsubscribeFromVideo", "params": ["sender": "a_webcam"]],
        ["method": "onIceCandidate", "params": ["endpointName": "a", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0]],
        ["method": "sendMessage", "params": ["message": "hi", "userMessage": "u", "roomMessage": "r"]],
        ["method": "customRequest", "params": ["x": 1]],
        ["method": "setRoomMode", "params": ["mode": "hybrid"]],
        ["method": "setLayout", "params": ["layout": "custom", "tiles": [["id": "a", "x": 0, "y": 0, "w": 0.5, "h": 0.5, "z": 0]]]],
        ["method": "muteParticipant", "params": ["target": "a", "kind": "audio"]],
        ["method": "streamPropertyChanged", "params": ["streamId": "webcam", "property": "audioActive", "newValue": false]],
        ["method": "startRecording", "params": ["target": "composite", "format": "webm"]],
        ["method": "stopRecording", "params": [:]],
        ["method": "ping", "params": ["interval": 3000]],
        ["method": "leaveRoom", "params": [:]],
    ]

    static func oddValue(_ rng: inout Rng) -> JSONValue {
        switch rng.below(11) {
        case 0: return .null
        case 1: return .bool(true)
        case 2: return .int(Int64(bitPattern: rng.next()))
        case 3: return .double(1e300)
        case 4: return .string("")
        case 5: return .string(["a", "b", "u", "$mcu", "a_webcam", "$mcu_audio", "x_y_z", "grid", "sfu", "mcu"][rng.below(10)])
        case 6: return .array([.int(1), .null])
        case 7: return .object(["id": "a", "x": -1, "w": 9])
        case 8: return .string(String(repeating: "\u{0}é", count: rng.below(30)))
        case 9: return .array([.object(["id": .string("a"), "x": .double(0.1), "y": .double(0.1), "w": .double(0.2), "h": .double(0.2), "z": .int(1)])])
        default: return .int(Int64(rng.below(5)) - 2)
        }
    }

    static func mutate(_ value: JSONValue, _ rng: inout Rng, depth: Int = 0) -> JSONValue {
        switch value {
        case .object(var o) where !o.isEmpty && depth < 5:
            let keys = o.keys.sorted()
            let key = keys[rng.below(keys.count)]
            switch rng.below(4) {
            case 0: o[key] = nil
            case 1: o["extra\(rng.below(2))"] = oddValue(&rng)
            default: o[key] = mutate(o[key]!, &rng, depth: depth + 1)
            }
            return .object(o)
        case .array(var a) where !a.isEmpty && depth < 5:
            a[rng.below(a.count)] = mutate(a[rng.below(a.count)], &rng, depth: depth + 1)
            return .array(a)
        default:
            return oddValue(&rng)
        }
    }

    @Test(arguments: 0..<4)
    func mutatedRequestsAlwaysGetOneWellFormedAnswer(seed: Int) async throws {
        let h = RoomHarness()
        var rng = Rng(seed: UInt64(seed) &* 31 &+ 7)
        let names = ["a", "b", "c"]
        for n in names {
            await h.connect(n)
            _ = await h.request(n, "joinRoom", ["user": .string(n), "room": "r", "extensions": ["mode", "layout", "speaking"]])
            _ = await h.request(n, "publishVideo", ["sdpOffer": .string("offer-\(n)"), "doLoopback": false])
        }
        for i in 0..<800 {
            let client = names[rng.below(names.count)]
            var request = Self.corpus[rng.below(Self.corpus.count)]
            let mutations = rng.below(3)
            for _ in 0..<mutations { request = Self.mutate(request, &rng) }
            guard case .object(var o) = request, let method = o["method"]?.stringValue else { continue }
            o["jsonrpc"] = "2.0"
            let id = Int64(100_000 + i)
            o["id"] = .int(id)
            let conn = h.clients[client]!
            await h.service.handle(JSONWriter.string(.object(o)), from: conn.id)
            let frames = conn.conn.take()
            let responses = frames.filter { $0["method"] == nil }
            #expect(responses.count == 1, "\(method) -> \(frames)")
            guard let r = responses.first else { continue }
            #expect(r["id"] == .int(id), "\(method) -> \(r)")
            #expect((r["result"] == nil) != (r["error"] == nil), "\(method) -> \(r)")
            if let e = r["error"] {
                #expect(e["code"]?.intValue != nil && e["message"]?.stringValue != nil)
                let message = e["message"]?.stringValue ?? ""
                let leaksInternals = message.contains("Fatal") || message.contains(".swift")
                #expect(!leaksInternals, "\(method) -> \(r)")
            }
            // Let some media flow now and then, so subscriptions and switches can complete.
            if i % 50 == 0 {
                h.clock.advance(by: .seconds(6))
                await h.service.tick()
            }
            // Whoever left comes back, so the room stays busy.
            let present = Set((await h.service.describe(room: "r")?["participants"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            for n in names where !present.contains(n) {
                _ = await h.request(n, "joinRoom", ["user": .string(n), "room": "r"])
            }
            for n in names { _ = h.clients[n]!.conn.take() }
        }
        // Everyone leaves: the room and every media object it made are gone.
        for n in names { _ = await h.request(n, "leaveRoom") }
        h.clock.advance(by: .seconds(30))
        await h.service.tick()
        #expect(await h.service.describe(room: "r") == nil)
        #expect(h.media.live.isEmpty, "left: \(h.media.live.sorted())")
    }
}
