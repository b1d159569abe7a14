import JSONRPC
import Testing

struct RPCCodecTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var expected: RPCInbound
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "request with int id", text: #"{"jsonrpc":"2.0","id":7,"method":"ping","params":{"interval":5000}}"#,
             expected: .request(RPCRequest(id: 7, method: "ping", params: ["interval": 5000]))),
        Case(name: "request with string id, no params", text: #"{"jsonrpc":"2.0","id":"a","method":"connect"}"#,
             expected: .request(RPCRequest(id: "a", method: "connect"))),
        Case(name: "notification (no id)", text: #"{"jsonrpc":"2.0","method":"ping"}"#,
             expected: .request(RPCRequest(id: nil, method: "ping"))),
        Case(name: "null id is a notification", text: #"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
             expected: .request(RPCRequest(id: nil, method: "ping"))),
        Case(name: "parse error", text: #"{"jsonrpc":"2.0","#, expected: .invalid(.parseError, id: nil)),
        Case(name: "batch is refused", text: #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
             expected: .invalid(.invalidRequest, id: nil)),
        Case(name: "wrong version answers a null id", text: #"{"jsonrpc":"1.0","id":3,"method":"ping"}"#,
             expected: .invalid(.invalidRequest, id: nil)),
        Case(name: "missing version", text: #"{"id":3,"method":"ping"}"#, expected: .invalid(.invalidRequest, id: nil)),
        Case(name: "object id", text: #"{"jsonrpc":"2.0","id":{},"method":"ping"}"#, expected: .invalid(.invalidRequest, id: nil)),
        Case(name: "method not a string", text: #"{"jsonrpc":"2.0","id":4,"method":5}"#, expected: .invalid(.invalidRequest, id: 4)),
        Case(name: "no method, no result", text: #"{"jsonrpc":"2.0","id":4}"#, expected: .invalid(.invalidRequest, id: 4)),
        Case(name: "response", text: #"{"jsonrpc":"2.0","id":4,"result":{"value":"pong"}}"#,
             expected: .response(RPCResponse(id: 4, result: ["value": "pong"]))),
        Case(name: "error response", text: #"{"jsonrpc":"2.0","id":4,"error":{"code":40101,"message":"m","data":{"type":"T"}}}"#,
             expected: .response(RPCResponse(id: 4, error: RPCError(code: 40101, message: "m", data: ["type": "T"])))),
    ]

    @Test(arguments: cases)
    func decode(_ c: Case) {
        #expect(RPCCodec.decode(c.text) == c.expected)
    }

    @Test func responseHasExactlyOneOfResultOrError() {
        let ok = RPCResponse(id: 1, result: .null).json
        #expect(ok["result"] == .null)
        #expect(ok["error"] == nil)
        let err = RPCResponse(id: nil, error: .parseError).json
        #expect(err["id"] == .null)
        #expect(err["result"] == nil)
        #expect(err["error"]?["code"] == -32700)
    }

    @Test func notificationHasNoID() {
        let text = RPCCodec.notification(method: "onEvent", params: ["value": 1])
        #expect(text == #"{"jsonrpc":"2.0","method":"onEvent","params":{"value":1}}"#)
    }
}
