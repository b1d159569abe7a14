/// A decoded JSON-RPC 2.0 request or notification (JSON-RPC 2.0 §4).
public struct RPCRequest: Sendable, Hashable {
    /// The id exactly as received (number or string); `nil` for a notification.
    public var id: JSONValue?
    public var method: String
    /// `params` as received; `nil` when absent. Kurento uses objects only.
    public var params: JSONValue?

    public init(id: JSONValue?, method: String, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var isNotification: Bool { id == nil }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let id { o["id"] = id }
        if let params { o["params"] = params }
        return .object(o)
    }
}

/// What one inbound text frame turned out to be.
public enum RPCInbound: Sendable, Hashable {
    case request(RPCRequest)
    case response(RPCResponse)
    /// The frame is not a valid request; answer with `error` and `id` (often null).
    case invalid(RPCError, id: JSONValue?)
}

/// A JSON-RPC response (JSON-RPC 2.0 §5): exactly one of result or error.
public struct RPCResponse: Sendable, Hashable {
    public var id: JSONValue?
    public var outcome: Outcome

    public enum Outcome: Sendable, Hashable {
        case result(JSONValue)
        case error(RPCError)
    }

    public init(id: JSONValue?, result: JSONValue) {
        self.id = id
        self.outcome = .result(result)
    }

    public init(id: JSONValue?, error: RPCError) {
        self.id = id
        self.outcome = .error(error)
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["jsonrpc": "2.0", "id": id ?? .null]
        switch outcome {
        case .result(let r): o["result"] = r
        case .error(let e): o["error"] = e.json
        }
        return .object(o)
    }

    public var text: String { JSONWriter.string(json) }
}

public enum RPCCodec {
    /// Decodes one text frame. Never throws: every malformed input becomes
    /// `.invalid` with the error the caller must send back.
    public static func decode(_ text: String) -> RPCInbound {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            return .invalid(.parseError, id: nil)
        }
        return decode(value)
    }

    public static func decode(_ value: JSONValue) -> RPCInbound {
        // Batches (arrays) are not supported by Kurento: -32600 with a null id.
        guard case .object(let o) = value else { return .invalid(.invalidRequest, id: nil) }
        let id = o["id"]
        let validID: JSONValue?
        switch id {
        case nil, .null?: validID = nil
        case .int?, .double?, .string?: validID = id
        default: return .invalid(.invalidRequest, id: nil)
        }
        // Not JSON-RPC 2.0 (a wrong or missing version): its id means nothing to us, so the
        // Invalid Request answer carries a null id (JSON-RPC 2.0 §5; KMS does the same).
        guard o["jsonrpc"] == .string("2.0") else { return .invalid(.invalidRequest, id: nil) }
        if let method = o["method"] {
            guard case .string(let name) = method else { return .invalid(.invalidRequest, id: validID) }
            return .request(RPCRequest(id: validID, method: name, params: o["params"]))
        }
        if let result = o["result"], o["error"] == nil {
            return .response(RPCResponse(id: validID, result: result))
        }
        if case .object(let e)? = o["error"], o["result"] == nil, let code = e["code"]?.intValue {
            let err = RPCError(code: Int(code), message: e["message"]?.stringValue ?? "", data: e["data"])
            return .response(RPCResponse(id: validID, error: err))
        }
        return .invalid(.invalidRequest, id: validID)
    }

    /// A server-to-client notification (no id), such as Kurento's `onEvent`.
    public static func notification(method: String, params: JSONValue) -> String {
        JSONWriter.string(RPCRequest(id: nil, method: method, params: params).json)
    }
}
