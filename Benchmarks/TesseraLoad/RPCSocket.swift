import Foundation
import HummingbirdWSClient
import NIOWebSocket
import JSONRPC
import Logging
import Synchronization

/// One JSON-RPC 2.0 client over a WebSocket (the room protocol or the Kurento
/// protocol): requests wait for their response with a deadline, and
/// notifications go to `onNotification`. Every wait is bounded, so a server
/// that stops answering turns into an error, never a hang.
final class RPCSocket: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct State {
        var writer: WebSocketOutboundWriter?
        var nextID: Int64 = 1
        var pending: [Int64: CheckedContinuation<JSONValue, any Error>] = [:]
        var closed: String?
    }

    private let state = Mutex(State())
    private let notificationSink: @Sendable (String, JSONValue) -> Void
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Connects to `url`; returns once the socket is open (or throws within `timeout`).
    init(url: String, timeout: Duration = .seconds(10), logger: Logger,
         onNotification: @escaping @Sendable (String, JSONValue) -> Void) async throws {
        notificationSink = onNotification
        let opened = AsyncStream<Result<Void, Failure>>.makeStream()
        let me = self
        task.withLock { $0 = Task {
            do {
                try await WebSocketClient.connect(
                    url: url, configuration: .init(maxFrameSize: 1 << 22), logger: logger
                ) { inbound, outbound, _ in
                    me.state.withLock { $0.writer = outbound }
                    opened.continuation.yield(.success(()))
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message else { continue }
                        me.receive(text)
                    }
                }
                me.fail("connection closed by the server")
            } catch {
                me.fail("WebSocket \(url): \(error)")
            }
            opened.continuation.yield(.failure(Failure(description: me.state.withLock { $0.closed } ?? "closed")))
        } }
        let result = await Self.first(of: opened.stream, within: timeout)
        switch result {
        case .success?: return
        case .failure(let f)?: throw f
        case nil:
            close()
            throw Failure(description: "WebSocket \(url): no connection within \(timeout)")
        }
    }

    private static func first<T: Sendable>(of stream: AsyncStream<T>, within timeout: Duration) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { for await value in stream { return value }; return nil }
            group.addTask { try? await Task.sleep(for: timeout); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func receive(_ text: String) {
        guard let message = try? JSONParser.parse(text) else { return }
        if let method = message["method"]?.stringValue {
            notificationSink(method, message["params"] ?? .object([:]))
            return
        }
        guard let id = message["id"]?.intValue,
            let waiter = state.withLock({ $0.pending.removeValue(forKey: id) })
        else { return }
        if let error = message["error"] {
            let code = error["code"]?.intValue ?? 0
            waiter.resume(throwing: Failure(description: "error \(code): \(error["message"]?.stringValue ?? "")"))
        } else {
            waiter.resume(returning: message["result"] ?? .null)
        }
    }

    private func fail(_ why: String) {
        let waiters = state.withLock { s -> [CheckedContinuation<JSONValue, any Error>] in
            if s.closed == nil { s.closed = why }
            s.writer = nil
            defer { s.pending.removeAll() }
            return Array(s.pending.values)
        }
        for w in waiters { w.resume(throwing: Failure(description: why)) }
    }

    /// Sends a request and waits for its result (at most `timeout`).
    func call(_ method: String, _ params: JSONValue = .object([:]), timeout: Duration = .seconds(15)) async throws -> JSONValue {
        let (id, writer, closed) = state.withLock { s -> (Int64, WebSocketOutboundWriter?, String?) in
            defer { s.nextID += 1 }
            return (s.nextID, s.writer, s.closed)
        }
        if let closed { throw Failure(description: closed) }
        guard let writer else { throw Failure(description: "not connected") }
        let text = JSONWriter.string(RPCRequest(id: .int(id), method: method, params: params).json)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = state.withLock { $0.pending.removeValue(forKey: id) }
            waiter?.resume(throwing: Failure(description: "\(method): no answer within \(timeout)"))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.pending[id] = continuation }
            Task {
                do { try await writer.write(.text(text)) } catch {
                    let waiter = state.withLock { $0.pending.removeValue(forKey: id) }
                    waiter?.resume(throwing: Failure(description: "\(method): \(error)"))
                }
            }
        }
    }

    func close() {
        let writer = state.withLock { $0.writer }
        fail("closed by the load generator")
        if let writer { Task { try? await writer.close(.normalClosure, reason: nil) } }
        task.withLock { $0?.cancel() }
    }
}
