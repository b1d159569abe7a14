/// A JSON-RPC 2.0 error object (JSON-RPC 2.0 §5.1).
///
/// Kurento puts its own code table (4xxxx) in the same object and names the
/// symbol in `data.type`; that mapping lives in the Elements module
/// (`KurentoError`), this type only carries the wire shape.
public struct RPCError: Error, Sendable, Hashable {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { o["data"] = data }
        return .object(o)
    }

    // The reserved codes of JSON-RPC 2.0 §5.1, with the messages Kurento uses.
    public static let parseError = RPCError(code: -32700, message: "Parse error.")
    public static let invalidRequest = RPCError(code: -32600, message: "Invalid JSON-RPC request.")
    public static let methodNotFound = RPCError(code: -32601, message: "Method not found.")
    public static func invalidParams(_ message: String) -> RPCError {
        RPCError(code: -32602, message: message, data: ["type": "INVALID_PARAMS"])
    }
    public static func internalError(_ message: String) -> RPCError {
        RPCError(code: -32603, message: "Unexpected error while processing method: \(message)")
    }
    /// -32000: "server error", used by Kurento for a missing or ill-typed top-level member.
    public static func serverError(_ message: String) -> RPCError {
        RPCError(code: -32000, message: message)
    }
}
