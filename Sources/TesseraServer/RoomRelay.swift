import Cluster
import Foundation
import HummingbirdWSClient
import JSONRPC
import Logging
import NIOWebSocket
import Rooms

/// A room client's socket on a node of a cluster (docs/cluster.md,
/// "Signalling through any node"). Requests go to this node's RoomService
/// until a `joinRoom` names a room another node holds, or a request carries
/// the session id of a participant that joined through here and lives on
/// another node (a reconnect); from then on every frame goes both ways
/// between the client and that node's room WebSocket. Media goes straight
/// to the holder: its answers and candidates carry its own addresses.
actor RoomRelay {
    let cluster: ClusterNode
    let client: AsyncStream<OutboundFrame>.Continuation
    let logger: Logger
    let maxFrame: Int
    /// Called once, when the socket starts relaying: the local room session is let go.
    let onRelay: @Sendable () async -> Void
    private var link: Link?
    /// The keep-alive interval the client asked for (`ping {interval}`), replayed to the holder.
    private var pingInterval: JSONValue?
    /// The relayed room, and whether its client asked for the `cluster` extension
    /// (it is then told when the room's node is lost, `roomMoved`).
    private var room: String?
    private var clusterAware = false
    /// The client left the room (or closed its session), or the room's node told
    /// it to move (`roomMoved`, a drain): the link's end then needs no notice.
    private var leaving = false
    /// The client's own socket is closing: nothing more to send it.
    private var closing = false
    /// The relayed `joinRoom` whose answer has not come: its id, text, room and
    /// node. Relaying starts for good with its answer; a `nodeFull` refusal
    /// makes this node host the participant instead (a cascaded room).
    private var pendingJoin: (id: JSONValue, text: String, room: String, node: String)?
    /// Whether the gauge counts this socket's link now.
    private var counting = false
    /// Cascaded rooms: whether this node hosts part of a room and takes its
    /// joins; make this node host the next join of a room for its owner; hand a
    /// frame to the local RoomService. Nil: joins are only relayed (no cascading).
    struct Hosting: Sendable {
        var hosts: @Sendable (_ room: String) async -> Bool
        /// This node hosts (or holds) `room` with as many participants as one node may.
        var full: @Sendable (_ room: String) async -> Bool
        var host: @Sendable (_ room: String, _ owner: String) async -> Void
        var deliver: @Sendable (_ text: String) async -> Void
    }
    let hosting: Hosting?

    final class Link: Sendable {
        let node: NodeInfo
        let writer: WebSocketOutboundWriter
        let task: Task<Void, Never>
        init(node: NodeInfo, writer: WebSocketOutboundWriter, task: Task<Void, Never>) {
            self.node = node
            self.writer = writer
            self.task = task
        }
    }

    /// +1 when a link opens, -1 when it ends (a gauge).
    let counted: @Sendable (Int) -> Void

    init(cluster: ClusterNode, client: AsyncStream<OutboundFrame>.Continuation, maxFrame: Int, logger: Logger,
         counted: @escaping @Sendable (Int) -> Void = { _ in }, hosting: Hosting? = nil, onRelay: @escaping @Sendable () async -> Void) {
        self.cluster = cluster
        self.hosting = hosting
        self.counted = counted
        self.client = client
        self.maxFrame = maxFrame
        self.logger = logger
        self.onRelay = onRelay
    }

    /// True when the frame went to another node (or was answered here for
    /// one); false: the local RoomService takes it.
    func route(_ text: String) async -> Bool {
        if let link {
            if text.contains("leaveRoom") || text.contains("closeSession"), case .request(let r) = RPCCodec.decode(text),
                r.method == "leaveRoom" || r.method == "closeSession"
            {
                leaving = true
            }
            do { try await link.writer.write(.text(text)) } catch { linkEnded(link) }
            return true
        }
        guard case .request(let request) = RPCCodec.decode(text) else { return false }
        let params = request.params?.objectValue ?? [:]
        let target: NodeInfo
        /// What goes to `target`: the frame, or a join marked as sent on (`RoomService.cascadeHop`).
        var forwarded = text
        switch request.method {
        case "ping":
            if let interval = params["interval"] { pingInterval = interval }
            return false
        case "joinRoom":
            guard let room = params["room"]?.stringValue else { return false }  // the local handler names the missing param
            let extensions = params["extensions"]?.arrayValue?.compactMap(\.stringValue) ?? []
            // A cascaded room this node hosts part of: its joins stay here.
            if let hosting, await hosting.hosts(room) { return false }
            // A join another node sent on because it was full there is not sent on again.
            let hopped = params[RoomService.cascadeHop]?.boolValue == true
            do {
                let placement = try await cluster.place(room: room)
                var owner: String?
                if case .elsewhere(let node) = placement { owner = node.id }
                // A join sent on to another node is marked: the node that gets it answers
                // it (or refuses it as full) rather than sending it on again.
                var hop = params
                hop[RoomService.cascadeHop] = true
                let marked = JSONWriter.string(RPCRequest(id: request.id, method: request.method, params: .object(hop)).json)
                if let hosting, !hopped, await hosting.full(room), let other = await cluster.otherNode(excluding: owner) {
                    // This node hosts as many of the room's participants as it may: another
                    // node hosts this one (it links to the room's node itself).
                    forwarded = marked
                    target = other
                    self.room = room
                    clusterAware = extensions.contains("cluster")
                    break
                }
                switch placement {
                case .here: return false
                case .elsewhere(let node):
                    if extensions.contains("redirect") {
                        // Extension `redirect`: the client goes to the room's node itself.
                        let url = cluster.settings.roomURL(of: node)
                        if let id = request.id {
                            client.yield(.text(RPCResponse(id: id, result: ["redirect": .string(url), "node": .string(node.id), "room": .string(room)]).text))
                        }
                        return true
                    }
                    target = node
                    self.room = room
                    clusterAware = extensions.contains("cluster")
                    if let id = request.id, hosting != nil {
                        // Hosted here if the room's node is full (a `nodeFull` answer).
                        pendingJoin = (id, text, room, node.id)
                        forwarded = marked
                    }
                }
            } catch {
                logger.error("cannot place a room", metadata: ["room": "\(room)", "error": "\(error)"])
                refuse(request.id, "the cluster cannot place room '\(room)' now: \(error)")
                return true
            }
        default:
            guard let session = params["sessionId"]?.stringValue, let node = await cluster.nodeOfRelayedSession(session) else { return false }
            target = node
        }
        do {
            let link = try await open(to: target)
            self.link = link
            if let pingInterval {
                // A notification (no id): the holder watches the same interval, and sends no second reply.
                try await link.writer.write(.text(#"{"jsonrpc":"2.0","method":"ping","params":{"interval":\#(JSONWriter.string(pingInterval))}}"#))
            }
            try await link.writer.write(.text(forwarded))
            // Relaying from now on (for a join that may be hosted here, once it is answered).
            if pendingJoin == nil { await startRelaying() }
        } catch {
            logger.error("cannot reach the node holding a room", metadata: ["node": "\(target.id)", "error": "\(error)"])
            link?.task.cancel()
            link = nil
            pendingJoin = nil
            refuse(request.id, "the room is held by node '\(target.id)', which cannot be reached now")
        }
        return true
    }

    /// The gauge counts the link, and the local session is let go.
    private func startRelaying() async {
        guard !counting else { return }
        counting = true
        counted(1)
        await onRelay()
    }

    private func stopCounting() {
        if counting { counted(-1) }
        counting = false
    }

    /// Looks at a frame from the room's node: true when it was the answer to
    /// the pending join and the join is hosted here instead (nothing goes to
    /// the client: the local RoomService answers it).
    func takeJoinAnswer(_ text: String) async -> Bool {
        guard let pending = pendingJoin, text.contains("\"id\""), case .response(let r) = RPCCodec.decode(text), r.id == pending.id else { return false }
        pendingJoin = nil
        guard case .error(let e) = r.outcome, e.code == RoomError.Code.nodeFull.rawValue, let hosting, let link else {
            await startRelaying()
            return false
        }
        // The room's node is full: this node hosts the participant and links to it.
        logger.info("hosting a participant of a cascaded room", metadata: ["room": "\(pending.room)", "owner": "\(pending.node)"])
        self.link = nil
        // Not in this (the link's) task, which ends here: the join links to the owner itself.
        let text = pending.text, room = pending.room, owner = pending.node
        await Task {
            await hosting.host(room, owner)
            await hosting.deliver(text)
        }.value
        link.task.cancel()
        return true
    }

    private func refuse(_ id: JSONValue?, _ message: String) {
        guard let id else { return }
        client.yield(.text(RPCResponse(id: id, error: RPCError(code: RoomError.Code.roomCannotBeCreated.rawValue, message: message)).text))
    }

    func noteMoved() { leaving = true }

    /// The link to the room's node ended without the client leaving: that node
    /// stopped or died. A client of the `cluster` extension is told
    /// (`roomMoved`); every client's socket closes (1001), and its rejoin places
    /// the room again, on a live node, once the old node's lease has run out.
    func linkEnded(_ ended: Link) {
        guard link === ended else { return }
        link = nil
        stopCounting()
        guard !closing else { return }
        if !leaving {
            logger.notice("the node holding a relayed room is gone", metadata: ["node": "\(ended.node.id)", "room": "\(room ?? "")"])
        }
        if !leaving, clusterAware, let room {
            let params: JSONValue = ["room": .string(room), "node": .string(ended.node.id), "reason": "nodeLost"]
            client.yield(.text(RPCCodec.notification(method: "roomMoved", params: params)))
        }
        client.yield(.close(.goingAway))
    }

    /// Connects to `node`'s room WebSocket; returns once it is open.
    private func open(to node: NodeInfo) async throws -> Link {
        let url = cluster.settings.roomURL(of: node)
        let (opened, openedContinuation) = AsyncStream.makeStream(of: WebSocketOutboundWriter?.self)
        let client = self.client, logger = self.logger, maxFrame = self.maxFrame, cluster = self.cluster
        let holder = LinkHolder()
        let task = Task {
            do {
                try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: maxFrame), logger: logger) { inbound, outbound, _ in
                    openedContinuation.yield(outbound)
                    for try await message in inbound.messages(maxSize: maxFrame) {
                        guard case .text(let text) = message else { continue }
                        if await self.takeJoinAnswer(text) { continue }
                        // The room's node sends its participants away itself (it drains): no second notice.
                        if text.contains("\"roomMoved\"") { await self.noteMoved() }
                        // A response with the session id: a reconnect through this node will find it.
                        if text.contains("\"sessionId\""), case .response(let r) = RPCCodec.decode(text),
                            case .result(let result) = r.outcome, let session = result.objectValue?["sessionId"]?.stringValue
                        {
                            await cluster.noteRelayedSession(session, on: node.id)
                        }
                        client.yield(.text(text))
                    }
                }
            } catch {
                logger.info("room link to another node ended", metadata: ["url": "\(url)", "error": "\(error)"])
            }
            openedContinuation.yield(nil)
            if let link = await holder.value { await self.linkEnded(link) }
        }
        let writer = try await openedWriter(opened, url: url, task: task)
        logger.info("relaying a room socket", metadata: ["node": "\(node.id)", "url": "\(url)", "room": "\(room ?? "-")"])
        let link = Link(node: node, writer: writer, task: task)
        await holder.set(link)
        return link
    }

    /// The link, handed to its own task once made (the task starts before the link exists).
    actor LinkHolder {
        var value: Link?
        func set(_ link: Link) { value = link }
    }

    /// The client's socket is gone: so is the link (the holder starts its grace period).
    func close() async {
        closing = true
        guard let link else { return }
        self.link = nil
        stopCounting()
        try? await link.writer.close(.normalClosure, reason: nil)
        link.task.cancel()
    }
}

/// The writer of a WebSocket to another node that `task` is opening (it
/// yields the writer once connected, nil if it failed); the task is cancelled
/// and an error thrown when none comes within 5 s.
func openedWriter(_ opened: AsyncStream<WebSocketOutboundWriter?>, url: String, task: Task<Void, Never>) async throws -> WebSocketOutboundWriter {
    let writer = try? await withDeadline(.seconds(5), "no WebSocket to \(url) within 5 s") {
        for await value in opened { return value }
        return nil
    }
    guard let writer else {
        task.cancel()
        throw ClusterError("no WebSocket to \(url) within 5 s")
    }
    return writer
}
