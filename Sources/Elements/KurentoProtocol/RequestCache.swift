import JSONRPC

/// Responses kept by (sessionId, request id) so a retried request is
/// answered again without running twice (protocol §1.4).
///
/// Unlike KMS, an entry answers only the same request: a different request
/// that reuses an id within the lifetime (a client that restarts its counter
/// after reconnecting) runs normally instead of receiving a stale answer.
struct RequestCache {
    struct Key: Hashable {
        var session: String
        var id: JSONValue
    }

    let ttl: Duration
    private var entries: [Key: (request: String, text: String, expires: Duration)] = [:]
    /// Insertion order; expiry times grow monotonically along it.
    private var order: [(Key, Duration)] = []
    private var head = 0

    init(ttl: Duration) { self.ttl = ttl }

    var count: Int { entries.count }

    /// `request` identifies the request's content (method and params).
    func lookup(session: String, id: JSONValue, request: String, now: Duration) -> String? {
        guard let e = entries[Key(session: session, id: id)], e.expires > now, e.request == request else { return nil }
        return e.text
    }

    mutating func insert(session: String, id: JSONValue, request: String, response: String, now: Duration) {
        guard ttl > .zero else { return }
        purge(now: now)
        let key = Key(session: session, id: id)
        entries[key] = (request, response, now + ttl)
        order.append((key, now + ttl))
    }

    mutating func purge(now: Duration) {
        while head < order.count, order[head].1 <= now {
            let (key, expires) = order[head]
            if entries[key]?.expires == expires { entries[key] = nil }
            head += 1
        }
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
