# Tessera: two commands.
#   make run    install missing system packages, build release, run with Config/tessera.json
#   make test   install missing system and pinned Python test packages, build, run every test

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3
VENV := .venv
CONFIG ?= Config/tessera.json

# System packages: C libraries the server links, and tools the tests use.
APT_BUILD := pkg-config libopus-dev libvpx-dev libnice-dev libsrtp2-dev libssl-dev libusrsctp-dev \
             libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libyuv-dev
APT_RUNTIME := gstreamer1.0-plugins-base gstreamer1.0-plugins-good
APT_TEST := ffmpeg iproute2 procps chromium coturn gstreamer1.0-tools gstreamer1.0-plugins-bad openssl hostname postgresql nodejs

.PHONY: run test deps-apt deps-apt-test deps-py build build-release test-swift test-sdk test-e2e test-e2e-full test-e2e-asan bench-rpc bench-sfu bench-rooms bench-mixer bench-recording bench-load bench-churn bench-forwarding bench-cluster fuzz fuzz-smoke test-asan test-tsan soak coverage-page clean

deps-apt:
	@./.ci/apt-install $(APT_BUILD) $(APT_RUNTIME)

deps-apt-test:
	@./.ci/apt-install $(APT_BUILD) $(APT_RUNTIME) $(APT_TEST)

deps-py: $(VENV)/.installed

$(VENV)/.installed: Tests/EndToEnd/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r Tests/EndToEnd/requirements.txt
	touch $@

build:
	swift build --build-tests

build-release:
	swift build -c release --product tessera

run: deps-apt build-release
	.build/release/tessera --config $(CONFIG)

test: deps-apt-test deps-py build
	$(MAKE) test-swift
	$(MAKE) test-sdk
	$(MAKE) fuzz-smoke
	$(MAKE) test-e2e
	$(MAKE) test-e2e-full

test-swift:
	swift test --skip-build

# The browser room client (/sdk/tessera-room.js) against a fake server, in Node (no npm packages).
test-sdk:
	node --test Tests/SDK/

# The end-to-end suite starts the real server (debug build) on loopback ports: once with the
# default ICE-lite shared ports, once more with full ICE on libnice (test-e2e-full).
E2E := TESSERA_BIN=$(CURDIR)/.build/debug/tessera TESSERA_LOAD_BIN=$(CURDIR)/.build/debug/tessera-load $(VENV)/bin/pytest -q -p no:cacheprovider Tests/EndToEnd
test-e2e:
	TESSERA_ICE_MODE=lite $(E2E)

test-e2e-full:
	TESSERA_ICE_MODE=full $(E2E)

# libFuzzer targets (Sources/Fuzz*), coverage-guided, optimised (2-4x the executions of a debug
# build) and under AddressSanitizer: each runs
# FUZZ_SECONDS on its seed corpus (Tests/FuzzCorpus/<target>, kept in the repo) plus what it
# found before (.build-fuzz/corpus). Crashes are written to .build-fuzz/crashes/.
# SwiftPM gives each executable its own main (so `-sanitize=fuzzer`, which links libFuzzer's main,
# cannot link): the targets are instrumented for libFuzzer's coverage and call its driver
# from their main, linked from the toolchain's libclang_rt.fuzzer_no_main.
FUZZ_TARGETS := FuzzJSON FuzzSDP FuzzRTP FuzzKurento FuzzSRTP FuzzSTUN FuzzRooms FuzzDTLS FuzzDepacketize FuzzDataChannel
# The two protocol harnesses keep state across inputs (sessions, rooms), so libFuzzer's
# per-input leak check (a full LeakSanitizer scan whenever an input's mallocs and frees
# differ) would run on almost every input: 70 % of FuzzRooms' time went there. They check
# for leaked objects themselves (every 64 and 256 inputs) and LeakSanitizer still runs at exit.
FUZZ_NO_INPUT_LEAK_CHECK := FuzzRooms FuzzKurento
# SRTP packets come in UDP datagrams of at most an MTU (WebRTC keeps them near 1,200 bytes): beyond
# 1,500 the target only spends its time hashing longer inputs (its rate fell from 8,400 to 680 a second
# as its corpus filled with 4 KB inputs).
FUZZ_SHORT_INPUTS := FuzzSRTP
FUZZ_SECONDS ?= 60
FUZZ_LIB = $(firstword $(wildcard $(dir $(realpath $(shell which swiftc)))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a))
FUZZ_FLAGS = -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
	-Xlinker $(FUZZ_LIB) -Xlinker -lstdc++
fuzz:
	@test -n "$(FUZZ_LIB)" || { echo "libclang_rt.fuzzer_no_main not found beside swiftc"; exit 1; }
	@for t in $(FUZZ_TARGETS); do \
		TESSERA_FUZZ=1 swift build -c release --scratch-path .build-fuzz $(FUZZ_FLAGS) --product $$t 2>&1 | grep -E "error|Compiling|Build" | tail -1; \
		test -x .build-fuzz/release/$$t || exit 1; \
	done
	@mkdir -p .build-fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p .build-fuzz/corpus/$$t; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		case " $(FUZZ_NO_INPUT_LEAK_CHECK) " in *" $$t "*) opts=-detect_leaks=0;; *) opts=;; esac; \
		case " $(FUZZ_SHORT_INPUTS) " in *" $$t "*) opts="$$opts -max_len=1500";; esac; \
		if LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/FuzzCorpus/lsan.supp .build-fuzz/release/$$t $$opts -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=.build-fuzz/crashes/$$t- \
			.build-fuzz/corpus/$$t Tests/FuzzCorpus/$$t > .build-fuzz/$$t.log 2>&1; \
		then grep -E "^stat::(number_of_executed_units|new_units_added)|DONE" .build-fuzz/$$t.log; \
		else tail -40 .build-fuzz/$$t.log; echo "$$t found a crash: see .build-fuzz/crashes/"; exit 1; fi; \
	done

# What `make test` runs: every fuzz target builds and runs a few seconds on its corpus.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=5

# Sanitizers over the Swift suite, each in its own build directory (not part of `make test`: a
# sanitizer build takes about as long as the normal one). ThreadSanitizer reports data races;
# AddressSanitizer memory errors and, at exit, LeakSanitizer leaks. Suppressions are for
# third-party libraries only, each with its reason (Tests/Sanitizers/).
SAN_ENV = TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/Tests/Sanitizers/tsan.supp" \
	ASAN_OPTIONS="detect_leaks=1 halt_on_error=1" LSAN_OPTIONS="suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp print_suppressions=0"
test-tsan: deps-apt-test
	swift build --build-tests --scratch-path .build-tsan --sanitize=thread
	$(SAN_ENV) swift test --skip-build --scratch-path .build-tsan --sanitize=thread

test-asan: deps-apt-test
	swift build --build-tests --scratch-path .build-asan --sanitize=address
	$(SAN_ENV) swift test --skip-build --scratch-path .build-asan --sanitize=address

# The end-to-end suite (ICE-lite) against a server built with AddressSanitizer: each server process
# writes its reports to .build-asan/e2e/asan.<pid>; LeakSanitizer runs when a server exits. Fails
# when any report names a memory error or a leak not covered by Tests/Sanitizers/lsan.supp.
# tessera-load stays the normal build (it is the tests' client, not the server under test).
test-e2e-asan: deps-apt-test deps-py build
	swift build --scratch-path .build-asan --sanitize=address --product tessera
	rm -rf .build-asan/e2e && mkdir -p .build-asan/e2e
	ASAN_OPTIONS="detect_leaks=1 log_path=$(CURDIR)/.build-asan/e2e/asan" \
		LSAN_OPTIONS="suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp print_suppressions=0" \
		TESSERA_SANITIZED=address TESSERA_ICE_MODE=lite TESSERA_BIN=$(CURDIR)/.build-asan/debug/tessera TESSERA_LOAD_BIN=$(CURDIR)/.build/debug/tessera-load \
		$(VENV)/bin/pytest -q -p no:cacheprovider Tests/EndToEnd $(E2E_ARGS); status=$$?; \
	if grep -l "ERROR: \(AddressSanitizer\|LeakSanitizer\)" .build-asan/e2e/asan.* 2>/dev/null; then \
		echo "sanitizer reports above (files in .build-asan/e2e)"; exit 1; fi; exit $$status

# Churn soak (not a test: prints figures, fails only on leaked objects, fds or threads): MINUTES of
# 12-peer room cycles (modes turning, half the peers vanishing) and Kurento-protocol cycles.
MINUTES ?= 10
soak: deps-apt-test deps-py
	swift build -c release --product tessera
	swift build -c release --product tessera-load
	$(VENV)/bin/python Benchmarks/soak/soak.py --minutes $(MINUTES)

# Request-rate benchmark over one WebSocket (not a test: prints figures).
bench-rpc: deps-apt
	swift build -c release --product tessera
	swift build -c release --product tessera-loadgen
	./Benchmarks/run-rpc-bench.sh

# SFU forwarding, side by side with Janus's VideoRoom from Debian (not a test: prints figures).
bench-sfu: deps-apt-test deps-py build-release
	./.ci/apt-install janus
	$(VENV)/bin/python Benchmarks/sfu/sfu_bench.py --bin .build/release/tessera
	cd Benchmarks/sfu && ../../$(VENV)/bin/python janus_bench.py
	cd Benchmarks/sfu && ../../$(VENV)/bin/python latency_bench.py --bin ../../.build/release/tessera

# Audio MCU rooms of 30, 100 and 300 tessera-load participants, Tessera beside Janus's
# AudioBridge, one fresh server per size (not a test: prints a table). SIZES=30,100,300,1000 to change.
SIZES ?= 30,100,300,1000
# Memory given back: 10 rounds of 30-participant audio rooms on one server, RSS after each.
bench-churn: deps-apt-test
	swift build -c release --product tessera
	swift build -c release --product tessera-load
	$(PYTHON) Benchmarks/load/churn.py

bench-load: deps-apt-test
	./.ci/apt-install janus
	swift build -c release --product tessera
	swift build -c release --product tessera-load
	$(PYTHON) Benchmarks/load/bench_load.py --sizes $(SIZES)

# Signalling through a cluster's relay against direct (PostgreSQL started by the script; docs/cluster.md).
bench-cluster: deps-apt-test deps-py build-release
	$(VENV)/bin/python Benchmarks/cluster/cluster_bench.py --bin $(CURDIR)/.build/release/tessera
	swift build -c release --product tessera-load
	$(VENV)/bin/python Benchmarks/cluster/cascade_bench.py --bin $(CURDIR)/.build/release/tessera --load-bin $(CURDIR)/.build/release/tessera-load

# Room timings with real peers: join -> first frame per mode, mode-switch time (not a test).
bench-rooms: deps-apt-test deps-py build-release
	$(VENV)/bin/python Benchmarks/rooms/room_bench.py --bin .build/release/tessera

# CPU cost of recording a 720p composite (not a test).
bench-recording: deps-apt-test deps-py build-release
	$(VENV)/bin/python Benchmarks/recording/recording_cpu.py --bin .build/release/tessera

# Mixer hot loops beside the raw libopus/libvpx cost and GStreamer's own mixing (not a test).
bench-mixer: deps-apt-test
	TESSERA_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark --target MixerBenchmarks
	python3 Benchmarks/mixer/gst_audio.py
	python3 Benchmarks/mixer/gst_video.py
	swift build -c release --product tessera-composite-replay
	python3 Benchmarks/mixer/composite_compare.py --bin .build/release/tessera-composite-replay

# The SFU packet path with and without simulcast, 10 and 50 viewers (docs/simulcast.md).
bench-forwarding: deps-apt-test
	TESSERA_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark --target ForwardingBenchmarks

# Regenerate docs/kurento-coverage.md from the coverage test.
coverage-page:
	TESSERA_WRITE_COVERAGE=$(CURDIR)/docs/kurento-coverage.md swift test --filter KurentoCoverage

clean:
	rm -rf .build $(VENV)
