"""make bench-churn: does a server give memory back when rooms empty?

One release server (pinned to core 0) gets ROUNDS rounds of tessera-load
audio MCU rooms of PEERS participants each (a new room per round, everyone
leaves at the end of the round). After each round the script waits until
/health reports no object left and reads the server's RSS. It prints RSS
after the first round, after the last one, and their ratio (the goal: within
20 % after 300 joins and leaves), and the RSS per participant at the peak.

usage: python3 Benchmarks/load/churn.py [--rounds 10] [--peers 30] [--seconds 5] [--ice-mode lite|full]
       [--env NAME=VALUE ...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_load import LOAD, TESSERA, REPO, free_port, wait_http  # noqa: E402


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--peers", type=int, default=30)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--ice-mode", default="lite")
    ap.add_argument("--env", action="append", default=[], help="extra server environment, NAME=VALUE")
    args = ap.parse_args()
    for path in (TESSERA, LOAD):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run `swift build -c release --product tessera` and `swift build -c release --product tessera-load` (SwiftPM builds only the last --product)")
    with tempfile.TemporaryDirectory(prefix="churn-") as tmp:
        port = free_port()
        env = dict(os.environ, TESSERA_ADDRESS="127.0.0.1", TESSERA_PORT=str(port), TESSERA_ICE_HOST_ADDRESSES="127.0.0.1",
                   TESSERA_LOG_LEVEL="error", TESSERA_RECORDING_DIR=tmp, TESSERA_ICE_MODE=args.ice_mode,
                   TESSERA_ICE_UDP_PORT="0", TESSERA_ROOM_MAX_PARTICIPANTS="5000")
        env.update(dict(e.split("=", 1) for e in args.env))
        proc = subprocess.Popen(["taskset", "-c", "0", TESSERA, "--config", os.path.join(REPO, "Config", "tessera.json")],
                                env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/health", proc)
            start = rss_mb(proc.pid)
            rows, peak = [], 0.0
            for i in range(args.rounds):
                cmd = ["taskset", "-c", "1", LOAD, "audio-room", "--url", f"ws://127.0.0.1:{port}", "--peers", str(args.peers),
                       "--seconds", str(args.seconds), "--talkers", "3", "--mode", "mcu", "--room", f"churn{i}", "--json",
                       "--server-pid", str(proc.pid), "--join-rate", "100"]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                report = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
                peak = max(peak, report.get("server", {}).get("rssMB", 0))
                deadline = time.time() + 20
                while time.time() < deadline and health(port)["objects"] > 0:
                    time.sleep(0.2)
                time.sleep(3)  # the server trims freed memory 2 s after a pipeline is released
                rows.append({"round": i + 1, "joins": (i + 1) * args.peers, "connected": report.get("connected"),
                             "objects": health(port)["objects"], "rssMB": round(rss_mb(proc.pid), 1),
                             "peakRssMB": report.get("server", {}).get("rssMB")})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    first, last = rows[0]["rssMB"], rows[-1]["rssMB"]
    env_note = " ".join(args.env) or "default allocator settings"
    print(f"# Churn: {args.rounds} rounds of {args.peers}-participant audio MCU rooms ({args.ice_mode} ICE, {env_note})")
    print(f"started at {start:.1f} MB; after round 1 (emptied): {first} MB; after round {args.rounds} "
          f"({rows[-1]['joins']} joins and leaves): {last} MB; ratio {last / first:.2f}; "
          f"peak during a round {peak} MB, {(peak - start) / args.peers:.2f} MB per participant above the empty server")
    print("| round | joins so far | connected | objects left | RSS MB (room emptied) | RSS MB during the round |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['round']} | {r['joins']} | {r['connected']} | {r['objects']} | {r['rssMB']} | {r['peakRssMB']} |")


if __name__ == "__main__":
    main()
