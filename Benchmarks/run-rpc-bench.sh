#!/bin/bash
# Request rate of the Kurento protocol over one WebSocket, side by side with the
# floor: the same WebSocket stack (Hummingbird) echoing frames with no protocol
# work. Server on core 0, load generator on core 1 (the machine has 2 cores).
# A benchmark, not a test: it prints figures and asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
OPS=${OPS:-20000}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); ECHO=$(free_port)
TMP=$(mktemp -d)
TESSERA_ADDRESS=127.0.0.1 TESSERA_PORT=$PORT TESSERA_LOG_LEVEL=error TESSERA_RECORDING_DIR=$TMP \
  taskset -c 0 $BIN/tessera --config Config/tessera.json & SERVER=$!
taskset -c 0 $BIN/tessera-loadgen echo-server --port $ECHO & ECHO_PID=$!
trap 'kill $SERVER $ECHO_PID 2>/dev/null; rm -rf $TMP' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/health >/dev/null && break; sleep 0.1; done
sleep 0.5
run() { taskset -c 1 $BIN/tessera-loadgen rpc --operations $OPS "$@"; }
echo "# $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for w in 1 32; do
  run --url ws://127.0.0.1:$ECHO/kurento --label echo-floor --workload ping --window $w
  run --url ws://127.0.0.1:$PORT/kurento --label tessera --workload ping --window $w
  run --url ws://127.0.0.1:$PORT/kurento --label tessera --workload create-release --window $w
done
echo "server RSS after run: $(grep VmRSS /proc/$SERVER/status | awk '{print $2}') KiB, objects: $(curl -s http://127.0.0.1:$PORT/health)"
