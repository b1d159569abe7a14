import Benchmark

// Hot-loop benchmarks of the mixer, each next to the raw cost of the same
// libopus/libvpx calls (the floor). Run with `make bench-mixer`.
let benchmarks: @Sendable () -> Void = {
    audioBenchmarks()
    videoBenchmarks()
}
