public import CNice
import Foundation
import Synchronization

/// One media thread running a GLib main context (shared/DESIGN.md, "Threads").
///
/// A pipeline is bound to one loop when it is created; its libnice agents
/// attach to this context, and its DTLS, SRTP, RTP handling, timers and
/// forwarding all run on this thread, without locks. Other threads reach it
/// only by posting work.
public final class MediaLoop: @unchecked Sendable {
    // Sendable: `context` and `loop` are GLib objects whose invoke/quit entry
    // points are thread-safe; everything else here is immutable after init or
    // behind a Mutex.
    public let index: Int
    /// The time as code on this loop reads it (see MediaClock).
    public let clock: any MediaClock
    let context: OpaquePointer  // GMainContext*
    private let loop: OpaquePointer  // GMainLoop*
    private let threadID = ThreadIDBox()
    /// Signalled by the thread after its last touch of GLib.
    private let exited = DispatchSemaphore(value: 0)
    private let state = Mutex(LifeState())

    private struct LifeState {
        var stopRequested = false
    }

    public init(index: Int, name: String = "media", clock: any MediaClock = SystemMediaClock()) {
        self.index = index
        self.clock = clock
        let ctx = g_main_context_new()!  // GLib aborts on allocation failure rather than returning NULL
        context = ctx
        loop = g_main_loop_new(ctx, 0)!
        // The thread holds references of its own to both, dropped only when it
        // exits: this object may be released (and drop its references) before
        // the thread even reaches g_main_loop_run.
        g_main_loop_ref(loop)
        g_main_context_ref(ctx)
        let handles = GLibHandles(context: ctx, loop: self.loop)
        let started = DispatchSemaphore(value: 0)
        let idBox = threadID
        let exited = self.exited
        let osName = String("tessera-\(name)-\(index)".prefix(15))  // the kernel keeps 15 bytes
        let thread = Thread {
            tessera_set_thread_name(osName)
            g_main_context_push_thread_default(handles.context)
            idBox.value.withLock { $0 = pthread_self() }
            started.signal()
            g_main_loop_run(handles.loop)
            g_main_context_pop_thread_default(handles.context)
            g_main_loop_unref(handles.loop)
            g_main_context_unref(handles.context)
            exited.signal()
        }
        thread.name = "tessera-\(name)-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
        started.wait()
    }

    deinit {
        // Quits through the context, so a quit cannot be lost before the loop
        // runs; the thread frees its own references when it returns. Not
        // joined here: the last reference may drop on the loop thread itself.
        requestStop()
        g_main_loop_unref(loop)
        g_main_context_unref(context)
    }

    /// Asks the loop to quit once it has run what was posted before.
    private func requestStop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopRequested = true }
            return !s.stopRequested
        }
        guard first else { return }
        let handles = GLibHandles(context: context, loop: loop)
        g_main_loop_ref(loop)
        let box = Unmanaged.passRetained(WorkBox { g_main_loop_quit(handles.loop); g_main_loop_unref(handles.loop) }).toOpaque()
        g_main_context_invoke_full(context, G_PRIORITY_LOW, { data in
            Unmanaged<WorkBox>.fromOpaque(data!).takeUnretainedValue().work()
            return 0  // G_SOURCE_REMOVE
        }, box, { data in Unmanaged<WorkBox>.fromOpaque(data!).release() })
    }

    /// True when called on this loop's thread.
    public var isCurrent: Bool {
        threadID.value.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// The GMainContext, for libnice agents attached to this loop.
    public var gContext: OpaquePointer { context }

    /// The loop's UDP sockets behind one epoll fd, made on first use (on the loop).
    public var sockets: SocketSet {
        if let set = socketSet { return set }
        let set = SocketSet(loop: self)
        socketSet = set
        return set
    }
    // Touched on the loop thread only (see `sockets`).
    private nonisolated(unsafe) var socketSet: SocketSet?

    /// Runs `work` on the loop thread, in posting order.
    public func post(_ work: @escaping @Sendable () -> Void) {
        // The box is released by the destroy notify: after it ran, or with the
        // context if the loop stopped first.
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        g_main_context_invoke_full(context, G_PRIORITY_DEFAULT, { data in
            Unmanaged<WorkBox>.fromOpaque(data!).takeUnretainedValue().work()
            return 0  // G_SOURCE_REMOVE
        }, box, { data in Unmanaged<WorkBox>.fromOpaque(data!).release() })
    }

    /// From the loop thread itself: runs `work` later on the same loop (after
    /// the current callback returns). The closure may capture loop-bound,
    /// non-Sendable state because it never leaves this thread.
    public func later(_ work: @escaping () -> Void) {
        assert(isCurrent, "MediaLoop.later called off its loop")
        let bound = LoopBound(work)
        post { bound.value() }
    }

    /// Runs `work` on the loop and waits for its result (control plane only, never from the loop itself).
    public func sync<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        if isCurrent { return work() }
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        post {
            let value = work()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }  // set before the semaphore is signalled
    }

    /// Runs `work` on the loop and resumes the caller with its result, without blocking a thread.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            post { c.resume(returning: work()) }
        }
    }

    /// Asks the thread to stop after the work already posted; does not wait.
    public func stop() { requestStop() }

    /// Stops the thread after the work already posted and waits until it has
    /// exited. Call from outside the loop (a loop cannot join itself).
    public func shutdown() {
        precondition(!isCurrent, "MediaLoop.shutdown called on its own thread")  // it would wait for itself forever
        requestStop()
        exited.wait()
        exited.signal()  // passed on: every later caller returns at once
    }
}

private final class ThreadIDBox: Sendable {
    let value = Mutex<pthread_t?>(nil)
}

/// GLib's context and loop pointers, handed to the loop thread once.
private struct GLibHandles: @unchecked Sendable {
    // Sendable: the thread only runs these; GLib makes run/quit/invoke thread-safe.
    let context: OpaquePointer
    let loop: OpaquePointer
}

private final class WorkBox {
    let work: @Sendable () -> Void
    init(_ work: @escaping @Sendable () -> Void) { self.work = work }
}

/// A value that belongs to one media loop, carried through Sendable code.
/// Invariant: `value` is only touched on the loop that owns it; whoever
/// unwraps it must be running there (post to the loop first).
public struct LoopBound<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// One strong reference carried through other threads to the loop that
/// owns the object, and released there: if it is the last one, the object
/// is freed on that loop, whichever thread finished last. `take()` must be
/// called exactly once, on the owning loop.
public struct Handover<Object: AnyObject>: @unchecked Sendable {
    private let reference: Unmanaged<Object>

    public init(_ object: Object) { reference = .passRetained(object) }

    public func take() -> Object { reference.takeRetainedValue() }
}

/// A GLib timeout source calling `callback(data)` after `delay` (at least
/// `minimumMillis`), attached to `loop`; the caller owns the returned reference.
private func attachTimeout(
    _ loop: MediaLoop, after delay: Duration, minimumMillis: Int64, data: UnsafeMutableRawPointer, callback: GSourceFunc
) -> UnsafeMutablePointer<GSource> {
    let ms = max(minimumMillis, delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
    let src = g_timeout_source_new(guint(min(ms, Int64(UInt32.max))))!
    g_source_set_callback(src, callback, data, nil)
    g_source_attach(src, loop.context)
    return src
}

/// A timer on a media loop. Not Sendable: create, fire and cancel on the loop.
public final class LoopTimer {
    private var source: UnsafeMutablePointer<GSource>?
    private let action: () -> Void

    /// Fires `action` once after `delay` on `loop` (call on the loop thread).
    public init(loop: MediaLoop, after delay: Duration, _ action: @escaping () -> Void) {
        self.action = action
        source = attachTimeout(loop, after: delay, minimumMillis: 0, data: Unmanaged.passUnretained(self).toOpaque()) { data in
            Unmanaged<LoopTimer>.fromOpaque(data!).takeUnretainedValue().fire()
            return 0  // G_SOURCE_REMOVE
        }
    }

    /// Fires `action` every `interval` on `loop` until cancelled: one GLib
    /// source for the timer's whole life, not one per firing.
    public init(loop: MediaLoop, every interval: Duration, _ action: @escaping () -> Void) {
        self.action = action
        source = attachTimeout(loop, after: interval, minimumMillis: 1, data: Unmanaged.passUnretained(self).toOpaque()) { data in
            Unmanaged<LoopTimer>.fromOpaque(data!).takeUnretainedValue().action()
            return 1  // G_SOURCE_CONTINUE
        }
    }

    private func fire() {
        if let s = source {
            g_source_unref(s)
            source = nil
        }
        action()
    }

    public func cancel() {
        if let s = source {
            g_source_destroy(s)
            g_source_unref(s)
            source = nil
        }
    }

    deinit { cancel() }
}

/// The set of media loops; pipelines are spread over them round robin.
public final class MediaLoopGroup: Sendable {
    public let loops: [MediaLoop]
    private let next = Atomic<Int>(0)

    public init(count: Int, name: String = "media", clock: any MediaClock = SystemMediaClock()) {
        let n = count > 0 ? count : ProcessInfo.processInfo.activeProcessorCount
        loops = (0..<max(1, n)).map { MediaLoop(index: $0, name: name, clock: clock) }
    }

    /// Stops every loop and waits for their threads to exit.
    public func shutdown() {
        for loop in loops { loop.shutdown() }
    }

    public func nextLoop() -> MediaLoop {
        let i = next.add(1, ordering: .relaxed).oldValue
        return loops[i % loops.count]
    }
}
