import MediaPlane
import Foundation
import JSONRPC
import Synchronization

/// A `create` waiting for its class's slow checks (`ClassBinding.prepare`),
/// which run on a worker thread; the object is made on the actor afterwards.
struct PendingCreation: Sendable {
    let type: String
    let params: [String: JSONValue]?
    private let slot = Slot()

    private final class Slot: Sendable {
        let value = Mutex<(any Sendable)?>(nil)
    }

    init(type: String, params: [String: JSONValue]?) {
        self.type = type
        self.params = params
    }

    /// What `prepare` returned, once `run` succeeded.
    var prepared: (any Sendable)? { slot.value.withLock { $0 } }

    /// Runs `prepare` on a global queue (it may block for seconds), never on
    /// the cooperative pool or the actor.
    func run(_ prepare: @escaping ClassBinding.Prepare, _ args: Arguments) async -> Result<JSONValue, KurentoError> {
        let slot = self.slot
        return await runBlocking(qos: .userInitiated) {
            do throws(KurentoError) {
                let value = try prepare(args)
                slot.value.withLock { $0 = value }
                return .success(.null)
            } catch {
                return .failure(error)
            }
        }
    }
}

/// The server methods of protocol §1.5, one function each.
extension KurentoProtocolHandler {
    enum Outcome {
        /// The response, and the session to key the request cache with.
        case done(RPCResponse, session: String?)
        case deferred(@Sendable () async -> Result<JSONValue, KurentoError>, session: String, creation: PendingCreation?)
    }

    /// What a method returns before it becomes a response.
    enum MethodResult {
        case result(JSONValue)
        case deferred(@Sendable () async -> Result<JSONValue, KurentoError>)
        /// A `create` whose class has a slow `prepare`: the work runs it off the
        /// actor, then `complete` creates the object on the actor.
        case creating(@Sendable () async -> Result<JSONValue, KurentoError>, PendingCreation)
    }

    static let sessionMethods: Set<String> = [
        "create", "describe", "invoke", "subscribe", "unsubscribe", "release", "transaction",
        "keepAlive", "ref", "unref", "closeSession",
    ]

    func execute(_ request: RPCRequest, connection: ConnectionID?) -> Outcome {
        var session: String?
        do throws(KurentoError) {
            let params = try paramsObject(request)
            session = params?["sessionId"]?.stringValue
            switch try dispatch(request.method, params: params, session: &session, inTransaction: false) {
            case .result(let r):
                return .done(RPCResponse(id: request.id, result: r), session: session)
            case .deferred(let work):
                // `dispatch` sets a session for every method that can defer.
                return .deferred(work, session: session ?? "", creation: nil)
            case .creating(let work, let creation):
                return .deferred(work, session: session ?? "", creation: creation)
            }
        } catch {
            return .done(RPCResponse(id: request.id, error: error.rpcError), session: session)
        }
    }

    private func paramsObject(_ request: RPCRequest) throws(KurentoError) -> [String: JSONValue]? {
        switch request.params {
        case nil, .null?: return nil
        case .object(let o)?: return o
        default: throw KurentoError(.invalidParams, "'params' should be an object")
        }
    }

    func dispatch(
        _ method: String, params: [String: JSONValue]?, session: inout String?, inTransaction: Bool
    ) throws(KurentoError) -> MethodResult {
        switch method {
        case "ping":
            var r: [String: JSONValue] = ["value": "pong"]
            if let s = session {
                r["sessionId"] = .string(s)
                if mediaSet.isKnown(session: s) { mediaSet.touch(session: s) }
            }
            return .result(.object(r))
        case "connect":
            return .result(try connect(session: &session))
        default:
            break
        }
        guard Self.sessionMethods.contains(method) else { throw KurentoError(.methodNotFound, "Method not found.") }
        guard let params else { throw KurentoError(.invalidParams, "'params' is required") }
        if let given = params["sessionId"], given.stringValue == nil {
            throw .wrongMember("sessionId", "a string")
        }
        if session == nil {
            if ["unsubscribe", "keepAlive", "ref", "unref", "closeSession"].contains(method) {
                throw .missingMember("sessionId")
            }
            session = UUID().uuidString.lowercased()
        }
        let s = session!  // assigned just above when absent
        if method == "keepAlive" {
            guard mediaSet.isKnown(session: s) else { throw KurentoError(.invalidSession, "Invalid session") }
            mediaSet.touch(session: s)
            return .result(["sessionId": .string(s)])
        }
        mediaSet.touch(session: s)
        switch method {
        case "create":
            let type = try string(params, "type")
            let ctor = try optionalObject(params, "constructorParams")
            if !inTransaction, let (prepare, args) = try mediaSet.preparation(type: type, params: ctor) {
                let creation = PendingCreation(type: type, params: ctor)
                return .creating({ await creation.run(prepare, args) }, creation)
            }
            let obj = try mediaSet.create(type: type, params: ctor, session: s)
            return .result(["value": .string(obj.id), "sessionId": .string(s)])
        case "describe":
            let obj = try mediaSet.object(try string(params, "object"))
            mediaSet.ref(obj, session: s)
            return .result([
                "type": .string(obj.className), "qualifiedType": .string("kurento.\(obj.className)"),
                "hierarchy": .array(mediaSet.catalog.hierarchy(of: obj.className).map { .string($0) }),
                "sessionId": .string(s),
            ])
        case "invoke":
            let obj = try mediaSet.object(try string(params, "object"))
            let operation = try string(params, "operation")
            let opParams = try optionalObject(params, "operationParams")
            mediaSet.ref(obj, session: s)
            switch try mediaSet.invoke(obj, operation: operation, params: opParams) {
            case .void: return .result(["value": .null, "sessionId": .string(s)])
            case .value(let v): return .result(["value": v, "sessionId": .string(s)])
            case .deferred(let work):
                if inTransaction {
                    throw KurentoError(.mediaObjectOperationNotSupported, "'\(operation)' cannot run inside a transaction")
                }
                return .deferred(work)
            }
        case "subscribe":
            let obj = try mediaSet.object(try string(params, "object"))
            let type = try string(params, "type")
            let id = try mediaSet.subscribe(obj, event: type, session: s)
            mediaSet.ref(obj, session: s)
            return .result(["value": .string(id), "sessionId": .string(s)])
        case "unsubscribe":
            mediaSet.unsubscribe(try string(params, "subscription"))
            return .result(["sessionId": .string(s)])
        case "release":
            let id = try string(params, "object")
            if let obj = mediaSet.objects[id] { mediaSet.release(obj) }
            return .result(["sessionId": .string(s)])
        case "ref":
            mediaSet.ref(try mediaSet.object(try string(params, "object")), session: s)
            return .result(["sessionId": .string(s)])
        case "unref":
            mediaSet.unref(try mediaSet.object(try string(params, "object")), session: s)
            return .result(["sessionId": .string(s)])
        case "closeSession":
            let releaseAll = params["release"]?.boolValue ?? false
            mediaSet.dropSession(s, releaseAll: releaseAll)
            return .result(.null)
        case "transaction":
            if inTransaction { throw KurentoError(.malformedTransaction, "Transactions cannot be nested") }
            guard let ops = params["operations"] else { throw .missingMember("operations") }
            guard case .array(let list) = ops else { throw .wrongMember("operations", "an array") }
            return .result(["value": .array(try transaction(list, session: s)), "sessionId": .string(s)])
        default:
            throw KurentoError(.methodNotFound, "Method not found.")
        }
    }

    private func connect(session: inout String?) throws(KurentoError) -> JSONValue {
        if let s = session {
            // Only a session this server instance knows can be resumed (protocol §4.5).
            guard mediaSet.isKnown(session: s) else { throw KurentoError(.invalidSession, "Invalid session") }
            mediaSet.touch(session: s)
        } else {
            let s = UUID().uuidString.lowercased()
            mediaSet.touch(session: s)
            session = s
        }
        return ["sessionId": .string(session!), "serverId": .string(mediaSet.serverID)]  // set in both branches
    }

    /// Runs the operations in order; `newref:N` in any string becomes the value
    /// returned by operation N. Stops after the first failure (protocol §1.11).
    private func transaction(_ ops: [JSONValue], session: String) throws(KurentoError) -> [JSONValue] {
        for (i, op) in ops.enumerated() where op["id"]?.intValue != Int64(i) {
            throw KurentoError(.malformedTransaction, "Id of request '\(i)' should be '\(i)'")
        }
        var responses: [JSONValue] = []
        var values: [JSONValue] = []
        for (i, op) in ops.enumerated() {
            let id: JSONValue = .int(Int64(i))
            do throws(KurentoError) {
                guard let method = op["method"]?.stringValue else { throw KurentoError(.invalidRequest, "Invalid JSON-RPC request.") }
                var params = try resolveNewRefs(op["params"] ?? .object([:]), values: values)
                guard case .object(var o) = params else { throw KurentoError(.invalidParams, "'params' should be an object") }
                o["sessionId"] = .string(session)  // the outer session is forced into every op
                params = .object(o)
                var s: String? = session
                guard case .result(let r) = try dispatch(method, params: o, session: &s, inTransaction: true) else {
                    throw KurentoError(.mediaObjectOperationNotSupported, "'\(method)' cannot run inside a transaction")
                }
                values.append(r["value"] ?? .null)
                responses.append(RPCResponse(id: id, result: r).json)
            } catch {
                responses.append(RPCResponse(id: id, error: error.rpcError).json)
                break
            }
        }
        return responses
    }

    private func resolveNewRefs(_ value: JSONValue, values: [JSONValue]) throws(KurentoError) -> JSONValue {
        switch value {
        case .string(let s) where s.hasPrefix("newref:"):
            guard let n = Int(s.dropFirst("newref:".count)), n >= 0, n < values.count else {
                throw KurentoError(.malformedTransaction, "Invalid reference '\(s)'")
            }
            return values[n]
        case .array(let a):
            var out: [JSONValue] = []
            for v in a { out.append(try resolveNewRefs(v, values: values)) }
            return .array(out)
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o { out[k] = try resolveNewRefs(v, values: values) }
            return .object(out)
        default:
            return value
        }
    }

    private func string(_ params: [String: JSONValue], _ name: String) throws(KurentoError) -> String {
        guard let v = params[name], !v.isNull else { throw .missingMember(name) }
        guard case .string(let s) = v else { throw .wrongMember(name, "a string") }
        return s
    }

    private func optionalObject(_ params: [String: JSONValue], _ name: String) throws(KurentoError) -> [String: JSONValue]? {
        switch params[name] {
        case nil, .null?: return nil
        case .object(let o)?: return o
        default: throw .wrongMember(name, "an object")
        }
    }
}
