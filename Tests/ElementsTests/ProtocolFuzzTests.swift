import Elements
import JSONRPC
import TestSupport
import Testing
import FuzzSupport

/// Structure-aware fuzzing of the Kurento protocol handler: valid requests
/// (every server method, real object ids) with values replaced, keys dropped
/// or added, methods swapped and the text cut. Each request with an id must
/// get exactly one well-formed response, the handler must keep serving, and
/// closing the sessions must release everything.
@Suite struct ProtocolFuzzTests {
    typealias Rng = SeededRandom

    static let methods = ["ping", "create", "invoke", "describe", "subscribe", "unsubscribe", "release", "transaction",
                          "keepAlive", "ref", "unref", "closeSession", "connect", "nonsense", ""]

    static func oddValue(_ rng: inout Rng, ids: [String]) -> JSONValue {
        switch rng.below(14) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2: return .int(Int64(bitPattern: rng.next()))
        case 3: return .double(-1e308)
        case 4: return .string("")
        case 5: return .string(String(repeating: "é\u{0}", count: rng.below(40)))
        case 6: return .array([])
        case 7: return .object([:])
        case 8: return .string(ids.isEmpty ? "x" : ids[rng.below(ids.count)])
        case 9: return .string("newref:\(rng.below(5))")
        case 10: return .array((0..<rng.below(4)).map { _ in .string(ids.isEmpty ? "y" : ids[rng.below(ids.count)]) })
        case 11: return .string(["MediaPipeline", "WebRtcEndpoint", "PassThrough", "Composite", "HubPort", "Dispatcher",
                                 "PlayerEndpoint", "RecorderEndpoint", "kurento.Nope"][rng.below(9)])
        case 12: return .int(Int64(rng.below(3)) - 1)
        default:
            var deep: JSONValue = .null
            for _ in 0..<rng.below(60) { deep = .array([deep]) }
            return deep
        }
    }

    /// Replaces a random node of `value`, drops or adds a key.
    static func mutate(_ value: JSONValue, _ rng: inout Rng, ids: [String], depth: Int = 0) -> JSONValue {
        switch value {
        case .object(var o) where !o.isEmpty && depth < 6:
            let keys = o.keys.sorted()
            let key = keys[rng.below(keys.count)]
            switch rng.below(5) {
            case 0: o[key] = nil
            case 1: o["x\(rng.below(3))"] = oddValue(&rng, ids: ids)
            case 2: o[key] = oddValue(&rng, ids: ids)
            default: o[key] = mutate(o[key]!, &rng, ids: ids, depth: depth + 1)
            }
            return .object(o)
        case .array(var a) where !a.isEmpty && depth < 6:
            let i = rng.below(a.count)
            if rng.below(3) == 0 { a.remove(at: i) } else { a[i] = mutate(a[i], &rng, ids: ids, depth: depth + 1) }
            return .array(a)
        default:
            return oddValue(&rng, ids: ids)
        }
    }

    func corpus(pipeline: String, element: String) -> [JSONValue] {
        let p = JSONValue.string(pipeline), e = JSONValue.string(element)
        return [
            ["method": "ping", "params": ["interval": 5000]],
            ["method": "create", "params": ["type": "MediaPipeline", "constructorParams": [:]]],
            ["method": "create", "params": ["type": "PassThrough", "constructorParams": ["mediaPipeline": p]]],
            ["method": "create", "params": ["type": "Composite", "constructorParams": ["mediaPipeline": p]]],
            ["method": "create", "params": ["type": "DispatcherOneToMany", "constructorParams": ["mediaPipeline": p]]],
            ["method": "invoke", "params": ["object": e, "operation": "connect", "operationParams": ["sink": e, "mediaType": "VIDEO"]]],
            ["method": "invoke", "params": ["object": p, "operation": "getChildren"]],
            ["method": "invoke", "params": ["object": e, "operation": "getSourceConnections", "operationParams": ["mediaType": "AUDIO"]]],
            ["method": "invoke", "params": ["object": p, "operation": "setName", "operationParams": ["name": "n"]]],
            ["method": "invoke", "params": ["object": e, "operation": "addTag", "operationParams": ["key": "k", "value": "v"]]],
            ["method": "describe", "params": ["object": e]],
            ["method": "subscribe", "params": ["object": e, "type": "ElementConnected"]],
            ["method": "unsubscribe", "params": ["subscription": "s", "object": e]],
            ["method": "release", "params": ["object": e]],
            ["method": "ref", "params": ["object": p, "sessionId": "s1"]],
            ["method": "unref", "params": ["object": p, "sessionId": "s1"]],
            ["method": "keepAlive", "params": ["sessionId": "s1"]],
            ["method": "connect", "params": ["sessionId": "s1"]],
            ["method": "transaction", "params": ["operations": [
                ["jsonrpc": "2.0", "id": 0, "method": "create", "params": ["type": "PassThrough", "constructorParams": ["mediaPipeline": p]]],
                ["jsonrpc": "2.0", "id": 1, "method": "invoke", "params": ["object": "newref:0", "operation": "getName"]],
            ]]],
        ]
    }

    @Test(arguments: 0..<4)
    func mutatedRequestsAlwaysGetOneWellFormedAnswer(seed: Int) throws {
        let h = ProtocolHarness()
        h.connect()
        let pipeline = try #require(h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue)
        let element = try #require(h.result("create", ["type": "PassThrough", "constructorParams": ["mediaPipeline": .string(pipeline)]])?["value"]?.stringValue)
        let base = corpus(pipeline: pipeline, element: element)
        var rng = Rng(seed: UInt64(seed) &+ 41)
        for n in 0..<1_500 {
            let ids = [pipeline, element] + h.mediaSet.objects.keys.sorted().prefix(6)
            var request = base[rng.below(base.count)]
            for _ in 0...rng.below(3) { request = Self.mutate(request, &rng, ids: ids) }
            guard case .object(var o) = request else { continue }
            if rng.below(10) == 0 { o["method"] = .string(Self.methods[rng.below(Self.methods.count)]) }
            o["jsonrpc"] = rng.below(30) == 0 ? "1.0" : "2.0"
            let id: JSONValue = rng.below(4) == 0 ? .string("r\(n)") : .int(Int64(n + 10))
            o["id"] = id
            var text = JSONWriter.string(.object(o))
            let cut = rng.below(40) == 0
            if cut { text = String(text.prefix(rng.below(text.count))) }
            let frames = h.sendRaw(text)
            let responses = frames.filter { $0["method"] == nil }
            if cut {
                #expect(responses.count <= 1)
                continue
            }
            #expect(responses.count == 1, "\(text) -> \(frames)")
            guard let r = responses.first else { continue }
            #expect(r["id"] == id || (r["id"] == .null && r["error"] != nil), "\(text) -> \(r)")
            #expect((r["result"] == nil) != (r["error"] == nil), "\(text) -> \(r)")
            if let e = r["error"] {
                #expect(e["code"]?.intValue != nil && e["message"]?.stringValue != nil, "\(text) -> \(r)")
            }
        }
        // Still serving, and closing every session releases every object.
        #expect(h.result("ping") == ["value": "pong", "sessionId": h.result("ping")?["sessionId"] ?? .null])
        let fresh = try #require(h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue)
        #expect(h.result("invoke", ["object": .string(fresh), "operation": "getChildren"])?["value"] == [])
        for s in h.mediaSet.sessionIDs { _ = h.call("closeSession", ["sessionId": .string(s)]) }
        #expect(h.mediaSet.objects.count == 1, "left: \(h.mediaSet.objects.keys.sorted())")  // the ServerManager
    }
}
