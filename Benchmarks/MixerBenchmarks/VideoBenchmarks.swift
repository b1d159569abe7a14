import Benchmark

func videoBenchmarks() {}
