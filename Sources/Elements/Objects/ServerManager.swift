import Foundation
import JSONRPC

/// kmd `ServerManager`: the singleton `manager_ServerManager`, present from
/// start, never released.
public final class ServerManager: MediaObject {
    public static let objectID = "manager_ServerManager"

    /// The Kurento API level the server implements, reported in `getInfo`.
    public static let apiVersion = "7.3.0"

    static let managerBinding = ClassBinding(
        className: "ServerManager",
        methods: [
            "getKmd": { _, args, set throws(KurentoError) in
                let name = args.string("moduleName") ?? ""
                guard let module = set.catalog.module(named: name) else {
                    throw KurentoError(.serverManagerUndefined, "Requested kmd module doesn't exist")
                }
                return .value(.string(module.text))
            },
            "getCpuCount": { _, _, _ throws(KurentoError) in
                .value(.int(Int64(ProcessInfo.processInfo.activeProcessorCount)))
            },
            "getUsedCpu": { _, args, _ throws(KurentoError) in
                // KMS blocks for `interval`; we measure off the signalling actor instead.
                // Capped so a Java client (10 s timeout) still gets an answer.
                let interval = min(max(args.int("interval") ?? 1000, 1), 9000)
                return .deferred {
                    let before = SystemStats.cpuTimes()
                    try? await Task.sleep(for: .milliseconds(interval))
                    let after = SystemStats.cpuTimes()
                    return .success(.double(SystemStats.busyPercent(before, after)))
                }
            },
            "getUsedMemory": { _, _, _ throws(KurentoError) in .value(.int(SystemStats.residentKiB())) },
        ],
        getters: [
            "info": { _, set in set.serverInfo() },
            "pipelines": { _, set in .array(set.pipelines.map { .string($0.id) }) },
            "sessions": { _, set in .array(set.sessionIDs.map { .string($0) }) },
            "metadata": { _, set in .string(set.metadata) },
        ],
        events: ["ObjectCreated", "ObjectDestroyed"]
    )
}

/// Readings from /proc for the ServerManager figures.
enum SystemStats {
    struct CPUTimes { var busy: UInt64; var total: UInt64 }

    /// System-wide CPU jiffies from the first line of /proc/stat, as KMS reports.
    static func cpuTimes() -> CPUTimes {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first
        else { return CPUTimes(busy: 0, total: 0) }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        let total = fields.reduce(0, +)
        // idle + iowait are the 4th and 5th fields.
        let idle = (fields.count > 3 ? fields[3] : 0) + (fields.count > 4 ? fields[4] : 0)
        return CPUTimes(busy: total - idle, total: total)
    }

    static func busyPercent(_ a: CPUTimes, _ b: CPUTimes) -> Double {
        guard b.total > a.total else { return 0 }
        return Double(b.busy &- a.busy) * 100 / Double(b.total - a.total)
    }

    /// Resident set size of this process in KiB (VmRSS).
    static func residentKiB() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
