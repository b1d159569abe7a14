"""CPU of a cascaded MCU audio room against the same room on one node.

The same load twice, on one machine: three tessera-load generators of N
participants each (one talker each, the others silent with RFC 6464
levels), joining one MCU room
  - cascaded: three nodes on one PostgreSQL, cluster.maxParticipantsPerNode
    = N, each generator joining its own node (n1 holds the room; n2 and n3
    host their participants and link to n1);
  - one node: a single tessera, all three generators joining it.
The servers' CPU (utime + stime from /proc, all nodes summed) is read over
the generators' measurement window. All processes share this machine's
cores, so the figures are CPU time, not capacity; the cascade's extra cost is
the links (each stream crosses to the other nodes) and a mixer per node.

Not a test: prints a table. Usage:
    python Benchmarks/cluster/cascade_bench.py --bin .build/release/tessera --load-bin .build/release/tessera-load [--peers 20] [--seconds 20]
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
from cluster_support import start_nodes  # noqa: E402
from pg import Postgres  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def generator(load_bin, port, prefix, tone, peers, seconds):
    return subprocess.Popen(
        [load_bin, "audio-room", "--url", f"ws://127.0.0.1:{port}", "--json", "--room", "bench", "--mode", "mcu",
         "--peers", str(peers), "--talkers", "1", "--first-tone", str(tone), "--name-prefix", prefix,
         "--seconds", str(seconds), "--decode-sample", "0", "--join-rate", "20", "--loops", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(servers, ports, load_bin, peers, seconds):
    """Starts the generators one after the other (the first fills its node
    before the others join), waits for all to have joined, then measures."""
    gens = [generator(load_bin, ports[0], "a", 0, peers, seconds + 10)]
    time.sleep(peers / 20 + 3)
    gens += [generator(load_bin, port, prefix, tone, peers, seconds) for port, prefix, tone in zip(ports[1:], "bc", (1, 2))]
    time.sleep(peers / 20 + 4)
    before = [cpu_seconds(s.proc.pid) for s in servers]
    start = time.time()
    time.sleep(seconds - 2)
    after = [cpu_seconds(s.proc.pid) for s in servers]
    wall = time.time() - start
    rss = [rss_mb(s.proc.pid) for s in servers]
    reports = []
    for g in gens:
        out, err = g.communicate(timeout=180)
        if g.returncode != 0:
            sys.exit(f"tessera-load failed: {err[-2000:]}")
        reports.append(json.loads(out))
    cores = [(b - a) / wall for a, b in zip(before, after)]
    return cores, rss, reports


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--load-bin", required=True)
    ap.add_argument("--peers", type=int, default=20, help="participants per generator (three generators)")
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    conftest.BIN = os.path.abspath(args.bin)
    total = 3 * args.peers
    rows = []

    # Cascaded over three nodes.
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, mixer={}, extra={
            "TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE": str(args.peers), "TESSERA_ROOM_MAX_PARTICIPANTS": "10000"})
        time.sleep(1.5)
        cores, rss, reports = run(nodes, [n.port for n in nodes], args.load_bin, args.peers, args.seconds)
        rows.append(("cascaded, 3 nodes", cores, rss, reports))
    finally:
        for n in nodes:
            n.stop()
        pg.stop()

    # The same room on one node.
    single = conftest.Server(env_overrides={"TESSERA_ROOM_MAX_PARTICIPANTS": "10000"})
    try:
        cores, rss, reports = run([single], [single.port] * 3, args.load_bin, args.peers, args.seconds)
        rows.append(("one node", cores, rss, reports))
    finally:
        single.stop()

    print(f"binary: {args.bin}; MCU audio room of {total} participants (3 talkers), {args.seconds} s measured")
    print("| room | server CPU, cores (per node) | total | per participant, % of a core | RSS MB (per node) | min packets/s received | loss |")
    print("|---|---|---|---|---|---|---|")
    for name, cores, rss, reports in rows:
        received = min(r["receivedPacketsPerSecondPerParticipant"]["min"] for r in reports)
        loss = max(r["loss"] for r in reports)
        print(f"| {name} | {' + '.join(f'{c:.2f}' for c in cores)} | {sum(cores):.2f} | {100 * sum(cores) / total:.2f} | "
              f"{' + '.join(f'{m:.0f}' for m in rss)} | {received:.1f} | {loss:.3f} |")


if __name__ == "__main__":
    main()
