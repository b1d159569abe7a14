public import CNice
public import CNetIO
import Foundation
import Glibc

/// An IPv4 address and port, kept as the `sockaddr_in` the kernel uses so
/// that sending and receiving need no conversion (and no allocation).
public struct UDPEndpoint: Sendable, Equatable, CustomStringConvertible {
    var raw: sockaddr_in

    /// nil unless `host` is a dotted IPv4 literal.
    public init?(host: String, port: UInt16) {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { return nil }
        raw = a
    }

    init(raw: sockaddr_in) { self.raw = raw }

    /// From the batched I/O's address form (network byte order).
    public init(peer: tessera_peer) {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = peer.address
        a.sin_port = peer.port
        raw = a
    }

    /// The batched I/O's address form.
    public var peer: tessera_peer { tessera_peer(address: raw.sin_addr.s_addr, port: raw.sin_port, ipv4: 1) }

    public var port: UInt16 { UInt16(bigEndian: raw.sin_port) }
    public var host: String {
        var addr = raw.sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        _ = inet_ntop(AF_INET, &addr, &text, socklen_t(INET_ADDRSTRLEN))
        return String(cString: text)
    }
    /// 0.0.0.0: "not known yet".
    public var isUnspecified: Bool { raw.sin_addr.s_addr == 0 }
    public var description: String { "\(host):\(port)" }

    public static func == (a: UDPEndpoint, b: UDPEndpoint) -> Bool {
        a.raw.sin_addr.s_addr == b.raw.sin_addr.s_addr && a.raw.sin_port == b.raw.sin_port
    }
}

public struct UDPError: Error, CustomStringConvertible {
    public var description: String
}

/// A non-blocking IPv4 UDP socket read on a media loop (through the loop's `SocketSet`).
/// Not Sendable: created, used and closed on its loop; `onReceive` runs there.
public final class UDPSocket {
    private var fd: Int32
    /// The loop's socket set, which calls `drain` when the socket is readable.
    private var sockets: SocketSet?
    public let local: UDPEndpoint
    /// One receive buffer per socket: the loop is single threaded.
    private var buffer = [UInt8](repeating: 0, count: 4096)
    /// A datagram and its sender; the buffer is valid only during the call.
    public var onReceive: ((UnsafeMutableRawBufferPointer, UDPEndpoint) -> Void)?
    public private(set) var received: UInt64 = 0

    /// Binds `host:port` (port 0: any). Call on the loop thread.
    public init(loop: MediaLoop, host: String, port: UInt16) throws(UDPError) {
        guard let address = UDPEndpoint(host: host, port: port) else {
            throw UDPError(description: "not an IPv4 address: \(host)")
        }
        let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard sock >= 0 else { throw UDPError(description: "socket: \(String(cString: strerror(errno)))") }
        var raw = address.raw
        let bound = withUnsafePointer(to: &raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(sock)
            throw UDPError(description: "bind \(address): \(why)")
        }
        _ = fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK)
        _ = fcntl(sock, F_SETFD, FD_CLOEXEC)
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &length) }
        }
        fd = sock
        local = UDPEndpoint(raw: actual)
        let set = loop.sockets
        set.add(sock) { [weak self] in self?.drain() }
        sockets = set
    }

    deinit { close() }

    /// Reads every queued datagram (the source fires once per wake-up).
    private func drain() {
        while fd >= 0 {
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { buf in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, buf.baseAddress, buf.count, Int32(MSG_TRUNC), $0, &fromLength)
                    }
                }
            }
            if n < 0 { return }  // EAGAIN (or an error: nothing more to read now)
            received &+= 1
            guard n <= buffer.count, from.sin_family == sa_family_t(AF_INET) else { continue }  // truncated: dropped
            let sender = UDPEndpoint(raw: from)
            buffer.withUnsafeMutableBytes { buf in
                onReceive?(UnsafeMutableRawBufferPointer(rebasing: buf[0..<n]), sender)
            }
        }
    }

    /// Sends one datagram; false if the kernel refused it.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: UDPEndpoint) -> Bool {
        guard fd >= 0 else { return false }
        var raw = destination.raw
        let n = withUnsafePointer(to: &raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return n == bytes.count
    }

    /// Stops reading and closes the socket; the port is free again afterwards.
    public func close() {
        if fd >= 0 {
            sockets?.remove(fd)
            sockets = nil
            Glibc.close(fd)
            fd = -1
        }
    }

    public var isOpen: Bool { fd >= 0 }
}

/// An RTP/RTCP port pair: RTP on an even port, RTCP on the next one (RFC 3550 §11).
public final class UDPPortPair {
    public let rtp: UDPSocket
    public let rtcp: UDPSocket

    /// Binds an even port and the one above it on `host`, trying random
    /// pairs in `range` (or in the kernel's dynamic range when nil).
    public init(loop: MediaLoop, host: String, range: ClosedRange<Int>?) throws(UDPError) {
        let lower = max(1024, range?.lowerBound ?? 32768)
        let upper = min(65534, range?.upperBound ?? 60999)
        guard upper - lower >= 1 else { throw UDPError(description: "UDP port range \(lower)-\(upper) has no even/odd pair") }
        let pairs = (upper - lower + 1) / 2
        let start = Int.random(in: 0..<max(1, pairs))
        var lastError = UDPError(description: "no free RTP/RTCP port pair in \(lower)-\(upper)")
        for attempt in 0..<min(pairs, 64) {
            var port = lower + ((start + attempt) % pairs) * 2
            if port % 2 == 1 { port += 1 }
            guard port + 1 <= upper else { continue }
            do {
                let a = try UDPSocket(loop: loop, host: host, port: UInt16(port))
                do {
                    let b = try UDPSocket(loop: loop, host: host, port: UInt16(port + 1))
                    rtp = a
                    rtcp = b
                    return
                } catch {
                    a.close()
                    lastError = error
                }
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    public func close() {
        rtp.close()
        rtcp.close()
    }
}

/// The address to advertise for sockets bound to `host`: the host itself,
/// or for the wildcard 0.0.0.0 the first non-loopback IPv4 address.
public func advertisedIPv4Address(boundTo host: String) -> String {
    guard host == "0.0.0.0" else { return host }
    return nonLoopbackIPv4Addresses().first ?? "127.0.0.1"
}

/// Every IPv4 address of an interface that is up and not loopback, in the
/// kernel's order, without repeats.
public func nonLoopbackIPv4Addresses() -> [String] {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { return [] }
    defer { freeifaddrs(list) }
    var result: [String] = []
    var cursor = list
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let sa = entry.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET),
              entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0
        else { continue }
        let host = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UDPEndpoint(raw: $0.pointee) }.host
        if !result.contains(host) { result.append(host) }
    }
    return result
}
