public import JSONRPC

/// A room request that failed: the codes of Kurento Room's `RoomException`
/// (shared/spec/room-protocol.md §6) and our additions (§10.9).
public struct RoomError: Error, Sendable, Equatable {
    public var code: Int
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code.rawValue
        self.message = message
    }

    public init(rpc: RPCError) {
        code = rpc.code
        message = rpc.message
    }

    public enum Code: Int, Sendable {
        case userNotFound = 102
        case userClosed = 103
        case existingUserInRoom = 104
        case userNotStreaming = 105
        case roomNotFound = 202
        case roomClosed = 203
        case roomCannotBeCreated = 204
        case roomModeNotSupported = 205
        case roomModeSwitchInProgress = 206
        case roomFull = 207
        /// A server limit (`limits.*`) refused the request; the message names it.
        case limitReached = 208
        /// Cluster: the room's node hosts as many of its participants as
        /// `cluster.maxParticipantsPerNode` allows; another node hosts the next.
        case nodeFull = 209
        case mediaSDP = 302
        case mediaEndpoint = 303
        case mediaMute = 307
        case mediaMixer = 308
        case mediaLayout = 309
        case recordingStart = 310
        case recordingStop = 311
        case recordingInProgress = 312
        case unauthorized = 401
        case generic = 999
        case reconnection = 40007
        case methodNotFound = -32601
        case invalidParams = -32602
    }

    /// A refusal by the limit `key` (whose value is `value`); counted through `options.limitRefused`.
    static func limit(_ key: String, _ value: Int, _ what: String, options: RoomOptions) -> RoomError {
        options.limitRefused(key)
        return RoomError(.limitReached, "\(what): \(key) (\(value)) reached")
    }

    static func missing(_ name: String) -> RoomError {
        RoomError(.invalidParams, "Request element '\(name)' is missing")
    }
}
