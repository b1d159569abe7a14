import CNetIO
import Dispatch
import Synchronization

/// Gives freed heap back to the kernel a little after a burst of releases.
///
/// Measured (Benchmarks/load/churn.py): after a 30-participant room emptied,
/// RSS stayed 30-40 MB above the empty server, room after room, with or
/// without MALLOC_ARENA_MAX=2: glibc keeps freed chunks in each thread's
/// arena (the media loops, the mixer threads, the signalling threads) and
/// only trims the top of the main heap by itself. `malloc_trim(0)` walks
/// every arena and returns whole free pages. It takes the arenas' locks, so it
/// runs at most once per `delay`, off the media loops, after releases.
public enum MemoryTrim {
    private static let pending = Atomic<Bool>(false)

    /// Asks for a trim `delay` from now (requests in between are folded into it).
    public static func request(after delay: Duration = .seconds(2)) {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let ms = Int(delay / .milliseconds(1))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(ms)) {
            pending.store(false, ordering: .releasing)
            _ = tessera_release_free_memory()
        }
    }
}
