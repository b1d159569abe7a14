"""What a cluster adds to signalling: round trips of room requests sent to the
room's node directly against the same requests relayed by another node, and
the time of a joinRoom either way. PostgreSQL is started in a temporary
directory (as in Tests/EndToEnd/test_cluster.py) with two nodes on loopback.

Not a test: prints a table. Usage:
    python Benchmarks/cluster/cluster_bench.py --bin .build/release/tessera [--pings 500] [--joins 30]
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "EndToEnd"))

import conftest  # noqa: E402
from cluster_support import start_nodes  # noqa: E402
from pg import Postgres  # noqa: E402
from room_client import RoomSocket  # noqa: E402


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def row(name, ms):
    return f"| {name} | {statistics.median(ms):.2f} | {percentile(ms, 90):.2f} | {percentile(ms, 99):.2f} | {len(ms)} |"


def pings(url, room, user, count):
    """Round trips of `ping` on a socket that joined `room` (relayed once joined elsewhere)."""
    s = RoomSocket(url)
    s.result("joinRoom", {"user": user, "room": room})
    times = []
    for _ in range(count):
        t = time.perf_counter()
        s.result("ping", {})
        times.append((time.perf_counter() - t) * 1000)
    s.request("leaveRoom", {})
    s.close()
    return times


def joins(url, room_prefix, count, hold_url=None):
    """joinRoom times. With `hold_url`, each room is first opened on that node
    (so the join under test is relayed to it)."""
    times = []
    for i in range(count):
        room = f"{room_prefix}-{i}"
        holder = None
        if hold_url:
            holder = RoomSocket(hold_url)
            holder.result("joinRoom", {"user": "host", "room": room})
        s = RoomSocket(url)
        t = time.perf_counter()
        s.result("joinRoom", {"user": "guest", "room": room})
        times.append((time.perf_counter() - t) * 1000)
        s.request("leaveRoom", {})
        s.close()
        if holder:
            holder.request("leaveRoom", {})
            holder.close()
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pings", type=int, default=500)
    ap.add_argument("--joins", type=int, default=30)
    args = ap.parse_args()
    conftest.BIN = os.path.abspath(args.bin)
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, count=2, mixer={})
        a, b = (f"ws://127.0.0.1:{n.port}/room" for n in nodes)
        time.sleep(1.5)  # both nodes have seen each other's heartbeat
        pings(a, "warm", "w1", 50)
        pings(b, "warm", "w2", 50)
        direct = pings(a, "bench", "alice", args.pings)
        holder = RoomSocket(a)
        holder.result("joinRoom", {"user": "host", "room": "bench2"})
        relayed = pings(b, "bench2", "bob", args.pings)
        holder.close()
        join_direct = joins(a, "jd", args.joins)
        join_relayed = joins(b, "jr", args.joins, hold_url=a)
        print(f"binary: {args.bin}")
        print("| what (ms) | median | p90 | p99 | n |")
        print("|---|---|---|---|---|")
        print(row("ping, to the room's node", direct))
        print(row("ping, relayed by another node", relayed))
        print(row("joinRoom, at the room's node (room new)", join_direct))
        print(row("joinRoom, relayed (placement read + new link)", join_relayed))
        print(f"added by the relay: ping {statistics.median(relayed) - statistics.median(direct):.2f} ms, "
              f"joinRoom {statistics.median(join_relayed) - statistics.median(join_direct):.2f} ms (medians)")
    finally:
        for n in nodes:
            n.stop()
        pg.stop()


if __name__ == "__main__":
    main()
