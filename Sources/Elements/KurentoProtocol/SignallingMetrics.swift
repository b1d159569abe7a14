public import CoreMetrics
import Foundation
import MediaPlane

/// Metrics of the signalling plane: requests by method and outcome, request
/// latency, sessions, connections and live objects by type. Metric objects are
/// made once per label set and reused; labels have low cardinality (method
/// names from a fixed list, outcome = "ok", "cached" or an error code).
public final class SignallingMetrics {
    private let factory: any MetricsFactory
    private var counters: [String: Counter] = [:]
    private var timers: [String: CoreMetrics.Timer] = [:]
    private var objectGauges: [String: Gauge] = [:]
    private let sessions: Gauge
    private let connections: Gauge

    static let knownMethods: Set<String> = [
        "ping", "connect", "create", "describe", "invoke", "subscribe", "unsubscribe", "release",
        "transaction", "keepAlive", "ref", "unref", "closeSession", "invalid",
    ]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        sessions = Gauge(label: "tessera_sessions", factory: factory)
        connections = Gauge(label: "tessera_connections", factory: factory)
    }

    func methodLabel(_ method: String) -> String {
        Self.knownMethods.contains(method) ? method : "unknown"
    }

    func record(method: String, outcome: String, since start: ContinuousClock.Instant) {
        let key = method + "|" + outcome
        let counter: Counter
        if let c = counters[key] {
            counter = c
        } else {
            counter = Counter(
                label: "tessera_rpc_requests_total", dimensions: [("method", method), ("outcome", outcome)],
                factory: factory)
            counters[key] = counter
        }
        counter.increment()
        let timer: CoreMetrics.Timer
        if let t = timers[method] {
            timer = t
        } else {
            timer = CoreMetrics.Timer(label: "tessera_rpc_request_duration_seconds", dimensions: [("method", method)], factory: factory)
            timers[method] = timer
        }
        timer.record(ContinuousClock.now - start)
    }

    func updateGauges(_ set: MediaSet) {
        sessions.record(set.sessions.count)
        let counts = set.objectCounts
        for type in Set(counts.keys).union(objectGauges.keys) {
            let gauge: Gauge
            if let g = objectGauges[type] {
                gauge = g
            } else {
                gauge = Gauge(label: "tessera_objects", dimensions: [("type", type)], factory: factory)
                objectGauges[type] = gauge
            }
            gauge.record(counts[type] ?? 0)
        }
    }

    public func setConnections(_ n: Int) { connections.record(n) }
}
