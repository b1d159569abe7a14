import Elements
import Foundation
import JSONRPC
import TestSupport
import Testing

/// Every error code the protocol can answer with today, each from a real
/// request, with its `data.type`; the socket stays usable after each.
@Suite struct ProtocolErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// Raw request text; `$P` is replaced by a live pipeline id.
        var request: String
        var code: Int64
        var type: String?
        /// Whether the error answer must carry the request id (else null).
        var nullID = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unparseable JSON", request: #"{"jsonrpc":"2.0","id":1,"#, code: -32700, type: nil, nullID: true),
        Case(name: "not an object", request: #"[1,2]"#, code: -32600, type: nil, nullID: true),
        Case(name: "bad jsonrpc version", request: #"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, code: -32600, type: nil, nullID: true),
        Case(name: "unknown method", request: #"{"jsonrpc":"2.0","id":1,"method":"fly","params":{}}"#, code: -32601, type: nil),
        Case(name: "params missing", request: #"{"jsonrpc":"2.0","id":1,"method":"create"}"#, code: -32602, type: "INVALID_PARAMS"),
        Case(name: "params not an object", request: #"{"jsonrpc":"2.0","id":1,"method":"create","params":[1]}"#, code: -32602, type: "INVALID_PARAMS"),
        Case(name: "type missing", request: #"{"jsonrpc":"2.0","id":1,"method":"create","params":{}}"#, code: -32000, type: nil),
        Case(name: "type not a string", request: #"{"jsonrpc":"2.0","id":1,"method":"create","params":{"type":5}}"#, code: -32000, type: nil),
        Case(name: "object missing", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"operation":"getName"}}"#, code: -32000, type: nil),
        Case(name: "operationParams not an object", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"setName","operationParams":"x"}}"#, code: -32000, type: nil),
        Case(name: "unknown object", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"nope","operation":"getName"}}"#, code: 40101, type: "MEDIA_OBJECT_NOT_FOUND"),
        Case(name: "describe unknown object", request: #"{"jsonrpc":"2.0","id":1,"method":"describe","params":{"object":"nope"}}"#, code: 40101, type: "MEDIA_OBJECT_NOT_FOUND"),
        Case(name: "unknown type", request: #"{"jsonrpc":"2.0","id":1,"method":"create","params":{"type":"Teleporter"}}"#, code: 40108, type: "MEDIA_OBJECT_NOT_AVAILABLE"),
        Case(name: "abstract type", request: #"{"jsonrpc":"2.0","id":1,"method":"create","params":{"type":"MediaElement"}}"#, code: 40108, type: "MEDIA_OBJECT_NOT_AVAILABLE"),
        Case(name: "unknown operation", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"fly"}}"#, code: 40008, type: "MALFORMED_TRANSACTION"),
        Case(name: "setter of a final property", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"setId","operationParams":{"id":"x"}}}"#, code: 40008, type: "MALFORMED_TRANSACTION"),
        Case(name: "setter with ill-typed value", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"setSendTagsInEvents","operationParams":{"sendTagsInEvents":"yes"}}}"#, code: 40001, type: "MARSHALL_ERROR"),
        Case(name: "setter without its value", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"setName","operationParams":{}}}"#, code: 40001, type: "MARSHALL_ERROR"),
        Case(name: "method without required param", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"addTag","operationParams":{"key":"k"}}}"#, code: 40001, type: "MARSHALL_ERROR"),
        Case(name: "method without operationParams", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"getTag"}}"#, code: 40001, type: "MARSHALL_ERROR"),
        Case(name: "bad enum value", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"getGstreamerDot","operationParams":{"details":"SHOW_NOTHING"}}}"#, code: 40001, type: "MARSHALL_ERROR"),
        Case(name: "event not supported", request: #"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"object":"$P","type":"MediaFlowIn"}}"#, code: 40106, type: "MEDIA_OBJECT_EVENT_NOT_SUPPORTED"),
        Case(name: "6.x alias on a class without the event", request: #"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"object":"$P","type":"OnIceCandidate"}}"#, code: 40106, type: "MEDIA_OBJECT_EVENT_NOT_SUPPORTED"),
        Case(name: "connect with unknown session", request: #"{"jsonrpc":"2.0","id":1,"method":"connect","params":{"sessionId":"gone"}}"#, code: 40007, type: "INVALID_SESSION"),
        Case(name: "keepAlive with unknown session", request: #"{"jsonrpc":"2.0","id":1,"method":"keepAlive","params":{"sessionId":"gone"}}"#, code: 40007, type: "INVALID_SESSION"),
        Case(name: "transaction with bad op ids", request: #"{"jsonrpc":"2.0","id":1,"method":"transaction","params":{"operations":[{"jsonrpc":"2.0","id":1,"method":"ping"}]}}"#, code: 40008, type: "MALFORMED_TRANSACTION"),
        Case(name: "newref outside a transaction", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"newref:0","operation":"getName"}}"#, code: 40109, type: "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT"),
        Case(name: "missing tag", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"$P","operation":"getTag","operationParams":{"key":"none"}}}"#, code: 40110, type: "MEDIA_OBJECT_TAG_KEY_NOT_FOUND"),
        Case(name: "unknown kmd module", request: #"{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":"manager_ServerManager","operation":"getKmd","operationParams":{"moduleName":"x"}}}"#, code: 40500, type: "UNDEFINED"),
        Case(name: "unref without session", request: #"{"jsonrpc":"2.0","id":1,"method":"unref","params":{"object":"$P"}}"#, code: -32000, type: nil),
    ]

    @Test(arguments: cases)
    func error(_ c: Case) throws {
        let h = ProtocolHarness()
        h.connect()
        // The pipeline is made on a second socket so the first stays unbound.
        let setup = h.connect()
        let p = try #require(h.result("create", ["type": "MediaPipeline"], on: setup)?["value"]?.stringValue)
        let frames = h.sendRaw(c.request.replacingOccurrences(of: "$P", with: p))
        let response = try #require(frames.first)
        #expect(frames.count == 1)
        #expect(response["jsonrpc"] == "2.0")
        #expect(response["result"] == nil)
        #expect(response["error"]?["code"]?.intValue == c.code)
        #expect(response["error"]?["data"]?["type"]?.stringValue == c.type)
        #expect(response["error"]?["message"]?.stringValue?.isEmpty == false)
        #expect(response["id"] == (c.nullID ? .null : 1))
        // The connection keeps serving.
        #expect(h.result("ping") == ["value": "pong"])
    }

    @Test func deferredOperationInsideATransactionIsRefused() {
        let h = ProtocolHarness()
        h.connect()
        let op: JSONValue = [
            "jsonrpc": "2.0", "id": 0, "method": "invoke",
            "params": ["object": "manager_ServerManager", "operation": "getUsedCpu"],
        ]
        let r = h.result("transaction", ["operations": [op]])
        #expect(r?["value"]?[0]?["error"]?["code"] == 40111)
    }

    /// The code table matches the spec (§2): every code has its symbol.
    @Test func codeTable() {
        let expected: [Int: String?] = [
            -32700: nil, -32600: nil, -32601: nil, -32602: "INVALID_PARAMS", -32603: nil, -32000: nil,
            40001: "MARSHALL_ERROR", 40003: "UNEXPECTED_ERROR", 40004: "CONNECT_ERROR", 40005: "UNSUPPORTED_MEDIA_TYPE",
            40006: "NOT_IMPLEMENTED", 40007: "INVALID_SESSION", 40008: "MALFORMED_TRANSACTION", 40009: "NOT_ENOUGH_RESOURCES",
            40100: "MEDIA_OBJECT_TYPE_NOT_FOUND", 40101: "MEDIA_OBJECT_NOT_FOUND", 40104: "MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND",
            40105: "MEDIA_OBJECT_METHOD_NOT_FOUND", 40106: "MEDIA_OBJECT_EVENT_NOT_SUPPORTED",
            40107: "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", 40108: "MEDIA_OBJECT_NOT_AVAILABLE",
            40109: "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT", 40110: "MEDIA_OBJECT_TAG_KEY_NOT_FOUND",
            40111: "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED", 40200: "SDP_CREATE_ERROR", 40201: "SDP_PARSE_ERROR",
            40202: "SDP_END_POINT_NO_LOCAL_SDP_ERROR", 40203: "SDP_END_POINT_NO_REMOTE_SDP_ERROR",
            40204: "SDP_END_POINT_GENERATE_OFFER_ERROR", 40205: "SDP_END_POINT_PROCESS_OFFER_ERROR",
            40206: "SDP_END_POINT_PROCESS_ANSWER_ERROR", 40207: "SDP_CONFIGURATION_ERROR",
            40208: "SDP_END_POINT_ALREADY_NEGOTIATED", 40209: "SDP_END_POINT_NOT_OFFER_GENERATED",
            40210: "SDP_END_POINT_ANSWER_ALREADY_PROCCESED", 40211: "SDP_END_POINT_CANNOT_CREATE_SESSON",
            40300: "HTTP_END_POINT_REGISTRATION_ERROR", 40400: "ICE_GATHER_CANDIDATES_ERROR",
            40401: "ICE_ADD_CANDIDATE_ERROR", 40500: "UNDEFINED", 40600: "URI_PATH_FILE_NOT_FOUND", 40700: "PLAYER_SEEK_FAIL",
        ]
        #expect(KurentoError.Code.allCases.count == expected.count)
        for code in KurentoError.Code.allCases {
            #expect(expected[code.rawValue] == code.symbol, "code \(code.rawValue)")
            let json = KurentoError(code, "m").rpcError.json
            #expect(json["data"]?["type"]?.stringValue == code.symbol)
        }
    }

    @Test func marshallerRegisterRules() throws {
        let m = Marshaller(catalog: .bundled) { (id) throws(KurentoError) -> String in
            guard id == "p" else { throw KurentoError(.mediaObjectNotFound, "x") }
            return "MediaPipeline"
        }
        // __type__ and __module__ optional on input, added on output; unknown members ignored.
        let tag = try m.convert(["key": "k", "value": "v", "extra": 1], to: KMDType("Tag"), name: "t")
        #expect(tag == ["__module__": "kurento", "__type__": "Tag", "key": "k", "value": "v"])
        #expect(throws: KurentoError(.unexpectedError, "Unknown type '\"Nope\"' for 't'")) {
            try m.convert(["__type__": "Nope", "key": "k", "value": "v"], to: KMDType("Tag"), name: "t")
        }
        #expect(throws: KurentoError(.marshallError, "'value' parameter is required")) {
            try m.convert(["key": "k"], to: KMDType("Tag"), name: "t")
        }
        // Lenient scalars as in KMS.
        #expect(try m.convert(5, to: KMDType("String"), name: "s") == "5")
        #expect(try m.convert(true, to: KMDType("int"), name: "i") == 1)
        #expect(try m.convert(2.0, to: KMDType("int"), name: "i") == 2)
        #expect(throws: KurentoError.self) { try m.convert("5", to: KMDType("int"), name: "i") }
        #expect(try m.convert([1, 2], to: KMDType("float[]"), name: "f") == [1.0, 2.0])
        // Object references: must exist and be of the declared class.
        #expect(try m.convert("p", to: KMDType("MediaObject"), name: "o") == "p")
        #expect(throws: KurentoError(.marshallError, "'o' parameter should be a MediaElement")) {
            try m.convert("p", to: KMDType("MediaElement"), name: "o")
        }
        #expect(throws: KurentoError(.mediaObjectNotFound, "x")) { try m.convert("q", to: KMDType("MediaObject"), name: "o") }
    }
}
