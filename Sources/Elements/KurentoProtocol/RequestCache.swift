import JSONRPC

/// Responses kept by (sessionId, request id) so a retried request is
/// answered again without running twice (protocol §1.4).
struct RequestCache {
    struct Key: Hashable {
        var session: String
        var id: JSONValue
    }

    let ttl: Duration
    private var entries: [Key: (text: String, expires: Duration)] = [:]
    /// Insertion order; expiry times grow monotonically along it.
    private var order: [(Key, Duration)] = []
    private var head = 0

    init(ttl: Duration) { self.ttl = ttl }

    var count: Int { entries.count }

    func lookup(session: String, id: JSONValue, now: Duration) -> String? {
        guard let e = entries[Key(session: session, id: id)], e.expires > now else { return nil }
        return e.text
    }

    mutating func insert(session: String, id: JSONValue, response: String, now: Duration) {
        guard ttl > .zero else { return }
        purge(now: now)
        let key = Key(session: session, id: id)
        entries[key] = (response, now + ttl)
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
