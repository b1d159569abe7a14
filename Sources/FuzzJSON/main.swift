// libFuzzer target: the JSON parser and the JSON-RPC envelope decoder, on
// any bytes a WebSocket client could send. A parse that succeeds must print
// and parse back to the same value.
import Foundation
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

// libFuzzer's driver, entered from this executable's main (SwiftPM gives the
// executable its own main, so libFuzzer's is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv) { data, count in fuzzOne(data, count) })
