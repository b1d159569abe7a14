public import CNetIO
public import CNice
import Glibc

/// The UDP sockets of one media loop, watched through one epoll fd that is
/// itself a single GLib source: a wake-up costs the sockets that are ready,
/// not a poll over every socket of the loop (what a GLib source per socket
/// costs: RtpEndpoints of cascaded rooms hold hundreds of them).
/// Not Sendable: used on its loop only (`MediaLoop.sockets`).
public final class SocketSet {
    public unowned let loop: MediaLoop
    private let epfd: Int32
    private var handlers: [Int32: () -> Void] = [:]
    private let ready = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
    /// Receive slots shared by every socket of the loop (one is read at a time).
    public let slots = UnsafeMutablePointer<tessera_datagram>.allocate(capacity: 16)
    private let memory = UnsafeMutableRawPointer.allocate(byteCount: 16 * 2048, alignment: 16)

    init(loop: MediaLoop) {
        self.loop = loop
        epfd = tessera_epoll_create()
        for i in 0..<16 {
            slots[i] = tessera_datagram(data: (memory + i * 2048).assumingMemoryBound(to: UInt8.self), capacity: 2048, length: 0,
                                        peer: tessera_peer())
        }
        let src = tessera_fd_read_source_full(epfd, { _, _, data in
            Unmanaged<SocketSet>.fromOpaque(data!).takeUnretainedValue().dispatchReady()
            return 1
        }, Unmanaged.passRetained(self).toOpaque(), { data in Unmanaged<SocketSet>.fromOpaque(data!).release() })!
        g_source_attach(src, loop.gContext)
        g_source_unref(src)  // the context holds it
    }

    deinit {
        Glibc.close(epfd)
        ready.deallocate()
        slots.deallocate()
        memory.deallocate()
    }

    /// Calls `handler` on the loop whenever `fd` is readable.
    public func add(_ fd: Int32, _ handler: @escaping () -> Void) {
        handlers[fd] = handler
        _ = tessera_epoll_add(epfd, fd)
    }

    /// Call before closing `fd`.
    public func remove(_ fd: Int32) {
        handlers[fd] = nil
        _ = tessera_epoll_remove(epfd, fd)
    }

    private func dispatchReady() {
        for _ in 0..<8 {
            let n = Int(tessera_epoll_ready(epfd, ready, 256))
            guard n > 0 else { return }
            for i in 0..<n { handlers[ready[i]]?() }
            if n < 256 { return }
        }
    }
}
