import Logging
import JSONRPC
public import MediaPlane

/// The actor that owns the object model and the protocol state. Each
/// WebSocket task calls `handle`; a periodic task calls `collectGarbage`.
/// Slow operations (`Reply.deferred`) run outside the actor so one client's
/// `getUsedCpu` never delays another client's `ping`.
public actor KurentoService {
    public let handler: KurentoProtocolHandler
    private var nextConnection: ConnectionID = 1

    public init(handler: KurentoProtocolHandler) {
        self.handler = handler
    }

    /// `serverOwned`: the server's own client (the room layer), whose session the
    /// per-client limits (`limits.maxSessions`, `maxObjectsPerSession`) do not
    /// cover: the rooms have limits of their own.
    public func openConnection(sink: any OutboundSink, serverOwned: Bool = false) -> ConnectionID {
        let id = nextConnection
        nextConnection += 1
        handler.open(id, sink: sink, serverOwned: serverOwned)
        handler.metrics.setConnections(handler.connectionCount)
        return id
    }

    public func closeConnection(_ id: ConnectionID) {
        handler.close(id)
        handler.metrics.setConnections(handler.connectionCount)
    }

    public func handle(_ text: String, from connection: ConnectionID) {
        guard let pending = handler.handle(text, from: connection) else { return }
        Task {
            let result = await pending.work()
            self.complete(pending, result)
        }
    }

    private func complete(_ pending: KurentoProtocolHandler.PendingReply, _ result: Result<JSONValue, KurentoError>) {
        handler.complete(pending, with: result)
    }

    /// Delivers media-plane events in the order the loops raised them.
    /// Runs until the context's event stream ends.
    public func runMediaEvents(_ media: MediaContext) async {
        for await e in media.events {
            handler.mediaSet.deliver(e)
            handler.deliverEvents()
        }
    }

    public func collectGarbage() {
        handler.collectGarbage()
    }

    /// Server shutdown: releases every media object and waits until the
    /// recordings that were running are complete files (at most `timeout`).
    /// Returns false if some recording did not finish in time.
    public func shutdown(timeout: Duration = .seconds(15)) async -> Bool {
        let mediaSet = handler.mediaSet
        let released = mediaSet.releaseEverything()
        handler.deliverEvents()
        guard let media = try? mediaSet.mediaContext() else { return true }
        if released > 0 { mediaSet.logger.notice("shutdown: released \(released) pipelines; finishing recordings") }
        // The nodes close on their loops (a recorder starts finishing its file there).
        await media.drainLoops()
        let finished = await media.waitForRecordingsToFinish(timeout: timeout)
        if finished {
            mediaSet.logger.notice("shutdown: media released, recordings complete")
        } else {
            mediaSet.logger.error("shutdown: some recordings did not finish within \(timeout)")
        }
        return finished
    }

    /// Runs `body` with the actor's state; for tests and the debug endpoints.
    public func withMediaSet<T: Sendable>(_ body: (MediaSet) -> T) -> T {
        body(handler.mediaSet)
    }
}
