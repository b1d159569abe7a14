"""Churn of cascaded rooms: cycles of three tessera-load generators (5
participants each) joining one room through three nodes, with
cluster.maxParticipantsPerNode 5, so that each node hosts its own five. The
rooms turn through MCU, SFU and hybrid modes. After each cycle it checks that
every node's media objects are back to 0, and prints the nodes' fds and RSS.

Not a test: prints a line per cycle. Usage:
    python Benchmarks/cluster/cascade_churn.py --bin .build/release/tessera --load-bin .build/release/tessera-load [--cycles 10]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "EndToEnd"))
sys.path.insert(0, os.path.join(HERE, "..", "load"))

import conftest  # noqa: E402
from churn import rss_mb  # noqa: E402
from cluster_support import cluster, start_nodes, stop_all  # noqa: E402
from media import wait_for_sync  # noqa: E402
from pg import Postgres  # noqa: E402

MODES = ["mcu", "sfu", "hybrid"]


def fds(node):
    return len(os.listdir(f"/proc/{node.proc.pid}/fd"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--load-bin", required=True)
    ap.add_argument("--cycles", type=int, default=10)
    args = ap.parse_args()
    conftest.BIN = os.path.abspath(args.bin)
    pg = Postgres()
    nodes = start_nodes(pg, extra={"TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE": "5"})
    try:
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)
        print("start: fds", [fds(n) for n in nodes], "RSS MB", [round(rss_mb(n.proc.pid)) for n in nodes])
        for cycle in range(args.cycles):
            mode = MODES[cycle % 3]
            generators = []
            for i, node in enumerate(nodes):
                # Started 1.5 s apart, each running 6 s: node i's five join while the others' are in.
                generators.append(subprocess.Popen(
                    [args.load_bin, "audio-room", "--url", f"ws://127.0.0.1:{node.port}", "--json", "--room", f"churn{cycle}",
                     "--mode", mode, "--peers", "5", "--talkers", "1", "--first-tone", str(i), "--name-prefix", "abc"[i],
                     "--seconds", "6", "--decode-sample", "0", "--loops", "1"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                time.sleep(1.5)
            during = [n.health()["objects"] for n in nodes]
            connected = []
            for g in generators:
                out, err = g.communicate(timeout=60)
                connected.append(json.loads(out)["connected"] if out.strip().startswith("{") else f"failed: {err[-200:]}")
            back = wait_for_sync(lambda: all(n.health()["objects"] == 0 for n in nodes), 15)
            print(f"cycle {cycle} ({mode}): connected {connected}, objects during {during}, back to 0: {back}, "
                  f"fds {[fds(n) for n in nodes]}, RSS MB {[round(rss_mb(n.proc.pid)) for n in nodes]}")
    finally:
        stop_all(nodes, pg)


if __name__ == "__main__":
    main()
