// libFuzzer target: the room protocol (RoomService on a fake media layer and
// a fake clock), fed what clients could send: up to eight frames per input,
// one per line; a line's first byte picks which of three clients sends it.
// Every request that carries an id must get exactly one answer with that id,
// and once every client has gone and the reconnection grace has passed, no
// room and no media object may be left.
import Dispatch
import FuzzDriver
import JSONRPC
import Rooms
import TestSupport

/// Runs async work to its end from libFuzzer's synchronous callback.
func blocking(_ work: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await work()
        done.signal()
    }
    done.wait()
}

/// Three clients, named "0", "1" and "2".
let names = ["0", "1", "2"]
let harness = RoomHarness()
nonisolated(unsafe) var inputs = 0
blocking { for n in names { await harness.connect(n) } }

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: count)
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).prefix(8) {
        let client = harness.clients[names[Int(line.first! % 3)]]!
        let text = String(decoding: line.dropFirst(), as: UTF8.self)
        let request = try? JSONParser.parse(text)
        blocking { await harness.service.handle(text, from: client.id) }
        let frames = client.conn.take()
        if let request, request["method"]?.stringValue != nil, let id = request["id"], id != .null {
            // Not JSON-RPC 2.0 (wrong or missing version, or an id that is neither a string nor a
            // number, JSON-RPC 2.0 §4): one Invalid Request answer with a null id.
            let validID: Bool = switch id {
            case .string, .int, .double: true
            default: false
            }
            let answerID: JSONValue = request["jsonrpc"] == "2.0" && validID ? id : .null
            let answers = frames.filter { $0["id"] == answerID && ($0["result"] != nil || $0["error"] != nil) }
            precondition(answers.count == 1, "request id \(id) got \(answers.count) answers: \(text)")
        }
    }
    inputs += 1
    if inputs % 64 == 0 {
        // Everyone goes away; after the grace period nothing may be left.
        blocking {
            for c in harness.clients.values { await harness.service.closeConnection(c.id) }
            harness.clock.advance(by: .seconds(60))
            await harness.service.tick()
        }
        let live = harness.media.live
        precondition(live.isEmpty, "media objects left after every client went: \(live.sorted())")
        _ = harness.media.takeCalls()  // the double's call log would grow for as long as the campaign runs
        blocking { for n in names { await harness.connect(n) } }
    }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
