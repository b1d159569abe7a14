// GStreamer, reached only through appsrc/appsink: the pipelines below run in
// GStreamer's own streaming threads; callers only push frames into appsrc,
// receive frames from appsink, and change states.

import CGStreamer
import Foundation
import Synchronization

public enum GStreamer {
    private static let initialized: Bool = {
        gst_init(nil, nil)
        return true
    }()

    /// Initialises GStreamer once per process.
    public static func initialize() { _ = initialized }

    /// True when the element factory `name` is installed.
    public static func hasElement(_ name: String) -> Bool {
        initialize()
        return tessera_gst_has_element(name) != 0
    }
}

/// Monotonic wall clock in nanoseconds (the recorder's and player's clock).
public func monotonicNanos() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
}

/// EOS and errors from a pipeline's bus, handled in the thread that posts them.
final class BusState: @unchecked Sendable {
    // Sendable: every field is behind `lock`; the callbacks are immutable.
    private let lock = NSLock()
    private var eos = false
    private var errors: [String] = []
    private let done = DispatchSemaphore(value: 0)
    var onError: (@Sendable (String) -> Void)?
    var onEOS: (@Sendable () -> Void)?

    func post(kind: Int32, text: String?) {
        switch kind {
        case TESSERA_BUS_EOS:
            lock.lock()
            let first = !eos
            eos = true
            lock.unlock()
            if first {
                done.signal()
                onEOS?()
            }
        case TESSERA_BUS_ERROR:
            lock.lock()
            errors.append(text ?? "unknown error")
            lock.unlock()
            done.signal()
            onError?(text ?? "unknown error")
        default:
            break
        }
    }

    var firstError: String? {
        lock.lock()
        defer { lock.unlock() }
        return errors.first
    }

    var reachedEOS: Bool {
        lock.lock()
        defer { lock.unlock() }
        return eos
    }

    /// Waits for EOS or an error, at most `timeout` seconds; true on EOS.
    func waitForEnd(timeout: Double) -> Bool {
        if reachedEOS { return true }
        _ = done.wait(timeout: .now() + timeout)
        return reachedEOS
    }

    static let callback: tessera_bus_fn = { context, kind, text in
        let state = Unmanaged<BusState>.fromOpaque(context!).takeUnretainedValue()
        state.post(kind: kind, text: text.map { String(cString: $0) })
    }
}

/// A GstPipeline built from a description, owning its bus watch. The
/// `BusState` and other callback contexts stay alive until `dispose`.
final class OwnedPipeline: @unchecked Sendable {
    // Sendable: GStreamer's state, property and query calls are thread-safe;
    // `disposed` is guarded by `lock`.
    let element: UnsafeMutablePointer<GstElement>
    let bus = BusState()
    private let lock = NSLock()
    private var disposed = false
    /// Kept alive as long as the pipeline (appsink contexts).
    var keepAlive: [AnyObject] = []

    init(description: String) throws(MediaPipelineError) {
        GStreamer.initialize()
        var error: UnsafeMutablePointer<GError>?
        let made = gst_parse_launch(description, &error)
        if let error {
            let message = String(cString: error.pointee.message)
            g_error_free(error)
            if let made { tessera_gst_object_unref(made) }
            throw MediaPipelineError("cannot build the GStreamer pipeline: \(message)")
        }
        guard let made else { throw MediaPipelineError("cannot build the GStreamer pipeline") }
        element = made
        tessera_bus_watch(element, BusState.callback, Unmanaged.passUnretained(bus).toOpaque())
    }

    func child(_ name: String) -> UnsafeMutablePointer<GstElement>? {
        guard let c = tessera_gst_bin_child(element, name) else { return nil }
        // The pipeline holds its own reference for as long as it lives.
        tessera_gst_object_unref(c)
        return c
    }

    @discardableResult
    func setState(_ state: GstState) -> GstStateChangeReturn {
        lock.lock()
        defer { lock.unlock() }
        guard !disposed else { return GST_STATE_CHANGE_FAILURE }
        return gst_element_set_state(element, state)
    }

    var isDisposed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return disposed
    }

    /// Stops every streaming thread and frees the pipeline (blocks while threads join).
    func dispose() {
        lock.lock()
        guard !disposed else { lock.unlock(); return }
        disposed = true
        lock.unlock()
        gst_element_set_state(element, GST_STATE_NULL)
        tessera_bus_unwatch(element)
        tessera_gst_object_unref(element)
        keepAlive.removeAll()
    }

    deinit { dispose() }
}

public struct MediaPipelineError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
