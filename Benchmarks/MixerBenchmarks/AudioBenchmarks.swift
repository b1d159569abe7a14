import Benchmark

func audioBenchmarks() {}
