import Foundation

/// CPU time and resident memory of a process, from /proc (Linux).
struct ProcessUsage: Sendable {
    let pid: Int32
    /// utime + stime in seconds.
    var cpuSeconds: Double
    var rssBytes: Int

    static func read(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15 (proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                rss = (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
            }
        }
        return ProcessUsage(pid: pid, cpuSeconds: (utime + stime) / ticks, rssBytes: rss)
    }

    static var selfPID: Int32 { getpid() }
}
