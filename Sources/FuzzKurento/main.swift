// libFuzzer target: the Kurento protocol handler without sockets (the
// ProtocolHarness of the Swift tests), fed what a client could send: up to
// eight frames per input, one per line. Every request that carries an id
// must get exactly one answer with that id, and after the connection drops
// and its grace period passes, no object may be left.
import Elements
import Foundation
import FuzzDriver
import JSONRPC
import TestSupport

// Loaded once, before the first input: the descriptor catalogue is a
// process-wide constant, not something an input allocates (see lsan.supp).
_ = KMDCatalog.bundled
nonisolated(unsafe) var harness = ProtocolHarness(gracePeriod: .seconds(1))
nonisolated(unsafe) var inputs = 0
nonisolated(unsafe) var connection = harness.connect()

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    for frame in text.split(separator: "\n", omittingEmptySubsequences: true).prefix(8) {
        let request = try? JSONParser.parse(String(frame))
        let pending = harness.handler.handle(String(frame), from: connection)
        if let pending {
            harness.handler.complete(pending, with: .failure(KurentoError(.notImplemented, "fuzz: no media plane")))
        }
        let frames = harness.sinks[connection]?.takeJSON() ?? []
        if let request, request["method"]?.stringValue != nil, let id = request["id"], id != .null {
            // Not JSON-RPC 2.0 (wrong or missing version, or an id that is neither a string nor a
            // number, JSON-RPC 2.0 §4): one Invalid Request answer with a null id.
            let validID: Bool = switch id {
            case .string, .int, .double: true
            default: false
            }
            let answerID: JSONValue = request["jsonrpc"] == "2.0" && validID ? id : .null
            let answers = frames.filter { $0["id"] == answerID && ($0["result"] != nil || $0["error"] != nil) }
            precondition(answers.count == 1, "request id \(id) got \(answers.count) answers: \(frame)")
        }
    }
    inputs += 1
    if inputs % 256 == 0 {
        // The client goes away; after the grace period its objects are collected.
        harness.disconnect(connection)
        harness.clock.advance(by: .seconds(5))
        harness.handler.collectGarbage()
        let left = harness.mediaSet.objectCounts.filter { $0.key != "ServerManager" }.values.reduce(0, +)
        precondition(left == 0, "objects left after the grace period: \(harness.mediaSet.objectCounts)")
        harness.sinks[connection] = nil
        connection = harness.connect()
    }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
