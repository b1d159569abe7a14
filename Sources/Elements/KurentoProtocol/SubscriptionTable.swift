import Foundation

/// Event subscriptions keyed by (session, object, event name) (protocol §1.9).
///
/// A second subscribe with the same key gets a new id but shares delivery,
/// so each event reaches a session once; the key lives until all its ids are
/// unsubscribed.
struct SubscriptionTable {
    struct Key: Hashable {
        var session: String
        var object: String
        var event: String
    }

    private var idsByKey: [Key: Set<String>] = [:]
    private var keyByID: [String: Key] = [:]
    /// (object, event) -> sessions, for delivery without a scan.
    private var sessionsByTarget: [String: [String: Set<String>]] = [:]

    var count: Int { keyByID.count }

    mutating func add(session: String, object: String, event: String) -> String {
        let id = UUID().uuidString.lowercased()
        let key = Key(session: session, object: object, event: event)
        idsByKey[key, default: []].insert(id)
        keyByID[id] = key
        sessionsByTarget[object, default: [:]][event, default: []].insert(session)
        return id
    }

    mutating func remove(_ id: String) {
        guard let key = keyByID.removeValue(forKey: id) else { return }
        idsByKey[key]?.remove(id)
        if idsByKey[key]?.isEmpty == true {
            idsByKey[key] = nil
            sessionsByTarget[key.object]?[key.event]?.remove(key.session)
        }
    }

    func sessions(object: String, event: String) -> [String] {
        sessionsByTarget[object]?[event].map { $0.sorted() } ?? []
    }

    mutating func removeAll(session: String) {
        for (id, key) in keyByID where key.session == session { remove(id) }
    }

    mutating func removeAll(object: String) {
        guard sessionsByTarget.removeValue(forKey: object) != nil else { return }
        for (id, key) in keyByID where key.object == object {
            keyByID[id] = nil
            idsByKey[key] = nil
        }
    }
}
