// libFuzzer target: the JSON parser and the JSON-RPC envelope decoder, on
// any bytes a WebSocket client could send. A parse that succeeds must print
// and parse back to the same value.
import Foundation
import FuzzDriver
import JSONRPC

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    _ = RPCCodec.decode(text)
    if let value = try? JSONParser.parse(text) {
        let again = try? JSONParser.parse(JSONWriter.string(value))
        precondition(again == value, "JSON round trip changed the value")
        _ = RPCCodec.decode(value)
    }
    return 0
}

runLibFuzzer { data, count in fuzzOne(data, count) }
