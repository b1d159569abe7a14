package import Transport

/// The nodes of one media loop, by object id: the only long-lived owner of a
/// node outside the graph of its neighbours. Created with the loop's
/// context, touched only on its loop, so every node is made, used and
/// destroyed there.
package final class NodeTable {
    private var nodes: [String: MediaNode] = [:]

    package subscript(id: String) -> MediaNode? { nodes[id] }

    package var count: Int { nodes.count }

    package func insert(_ node: MediaNode) { nodes[node.objectID] = node }

    /// Takes the node out of the table and closes it; it is freed here, on
    /// the loop, once its neighbours have let go of it (close does that).
    package func release(_ id: String) {
        guard let node = nodes.removeValue(forKey: id) else { return }
        node.close()
    }

    /// At shutdown: every node closed and dropped on its loop.
    package func releaseAll() {
        let all = nodes.values
        nodes.removeAll()
        for node in all { node.close() }
    }
}

/// How the signalling side (and other threads) address one node: its loop
/// and its id, never a reference. Work is posted to the loop and finds the
/// node in the loop's table; a node already released is simply not found.
package struct NodeRef: Sendable {
    package let loop: MediaLoop
    package let id: String
    private let table: LoopBound<NodeTable>

    package init(loop: MediaLoop, id: String, table: LoopBound<NodeTable>) {
        self.loop = loop
        self.id = id
        self.table = table
    }

    /// Makes the node on its loop (after whatever was posted before) and
    /// enters it in the table. `make` may look up other nodes of the loop.
    package func install(_ make: @escaping @Sendable (NodeTable) -> MediaNode) {
        let table = self.table
        loop.post { table.value.insert(make(table.value)) }
    }

    /// Runs `work` on the loop with the node, if it still exists.
    package func post(_ work: @escaping @Sendable (MediaNode) -> Void) {
        lookup { if let node = $0 { work(node) } }
    }

    /// Runs `work` on the loop with the node, or with nil if it was released.
    package func lookup(_ work: @escaping @Sendable (MediaNode?) -> Void) {
        let table = self.table, id = self.id
        loop.post { work(table.value[id]) }
    }

    /// Runs `work` on the loop with this node and `other` (same loop), if both still exist.
    package func post(with other: NodeRef, _ work: @escaping @Sendable (MediaNode, MediaNode) -> Void) {
        precondition(other.loop === loop, "nodes of one pipeline share a loop")
        let table = self.table, id = self.id, otherID = other.id
        loop.post { if let a = table.value[id], let b = table.value[otherID] { work(a, b) } }
    }

    /// Runs `work` on the loop with the node (nil if released) and waits for
    /// its result; never from the loop itself (control plane and tests).
    package func sync<T: Sendable>(_ work: @escaping @Sendable (MediaNode?) -> T) -> T {
        let table = self.table, id = self.id
        return loop.sync { work(table.value[id]) }
    }

    /// Closes the node and drops it from the table, on the loop.
    package func release() {
        let table = self.table, id = self.id
        loop.post { table.value.release(id) }
    }
}
