package import Dispatch

/// Runs blocking `work` (a file header read, a wait on a group) on a global
/// dispatch queue and returns its result, so it never occupies the
/// cooperative pool or an actor while it blocks.
package func runBlocking<T: Sendable>(qos: DispatchQoS.QoSClass, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
        DispatchQueue.global(qos: qos).async { done.resume(returning: work()) }
    }
}
