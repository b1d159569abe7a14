"""Room timings with real peers (aiortc) on loopback, against the release
build: time from joinRoom to the first decoded frame in each room mode, and
how long a mode switch takes (until every participant decodes the new view,
and until the server reports the switch completed), with the longest audio
silence any participant had across the switch.

Not a test: prints a table. Usage:
    python Benchmarks/rooms/room_bench.py --bin .build/release/tessera [--runs 3]
"""
import argparse
import asyncio
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "EndToEnd"))

import conftest  # noqa: E402
from room_client import Participant  # noqa: E402

PEOPLE = [("alice", (220, 40, 40), 300), ("bob", (40, 200, 60), 500), ("carol", (40, 60, 220), 700)]


async def until(condition, timeout=30, step=0.005):
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if condition():
            return time.perf_counter()
        await asyncio.sleep(step)
    return None


def first_frame(p):
    """True once any subscription of `p` decoded a video frame."""
    return any(rec.video_frames > 0 for _, rec, _ in p.subscriptions.values())


async def join_to_first_frame(url, mode, room):
    people = [Participant(url, n, room, c, hz, extensions=["mode"], mode=mode) for n, c, hz in PEOPLE]
    for p in people:
        await p.join()
        await p.publish()
    # Wait until the room is warm: every participant receives something.
    await until(lambda: all(first_frame(p) for p in people), 30)
    late = Participant(url, "dave", room, (200, 200, 40), 900, extensions=["mode"])
    start = time.perf_counter()
    await late.join()
    done = await until(lambda: first_frame(late), 30)
    for p in people + [late]:
        await p.close()
    return None if done is None else (done - start) * 1000


async def switch_time(url, room, target):
    people = [Participant(url, n, room, c, hz, extensions=["mode"]) for n, c, hz in PEOPLE]
    for p in people:
        await p.join()
        await p.publish()
    await until(lambda: all(len(p.subscriptions) == 2 and first_frame(p) for p in people), 30)
    await asyncio.sleep(1.0)
    # Audio arrival times per participant, to find the longest silence across the switch.
    marks = {p.name: [] for p in people}

    async def watch():
        last = {p.name: 0 for p in people}
        while True:
            for p in people:
                total = sum(len(rec.audio) for _, rec, _ in p.subscriptions.values())
                if total != last[p.name]:
                    marks[p.name].append(time.perf_counter())
                    last[p.name] = total
            await asyncio.sleep(0.005)
    watcher = asyncio.ensure_future(watch())
    start = time.perf_counter()
    await asyncio.to_thread(people[0].socket.result, "setRoomMode", {"mode": target})
    key = "$mcu" if target != "sfu" else None

    def new_view(p):
        if key:
            sub = p.subscriptions.get(key)
            return sub is not None and (sub[1].video_frames > 0 or (target == "hybrid" and len(sub[1].audio) > 0))
        return all(p.recorder(o.name) is not None and p.recorder(o.name).video_frames > 0 for o in people if o is not p)
    media_done = await until(lambda: all(new_view(p) for p in people), 30)
    completed = await until(lambda: any(n.get("method") == "roomModeChanged" and n["params"].get("phase") == "completed"
                                        for n in people[0].notes), 30)
    await asyncio.sleep(1.0)
    watcher.cancel()
    gaps = []
    for p in people:
        ts = [t for t in marks[p.name] if t >= start - 0.5]
        gaps.append(max((b - a for a, b in zip(ts, ts[1:])), default=float("nan")))
    for p in people:
        await p.close()
    ms = lambda t: None if t is None else (t - start) * 1000
    return ms(media_done), ms(completed), max(gaps) * 1000


def fmt(values):
    values = [v for v in values if v is not None]
    if not values:
        return "failed"
    return f"{statistics.median(values):7.0f} ms (min {min(values):.0f}, max {max(values):.0f}, n={len(values)})"


async def main(args):
    os.environ["TESSERA_BIN"] = args.bin
    conftest.BIN = args.bin
    server = conftest.Server(env_overrides={"TESSERA_MIXER_WIDTH": "640", "TESSERA_MIXER_HEIGHT": "360", "TESSERA_MIXER_FPS": "15"})
    url = server.url.replace("/kurento", "/room")
    try:
        print("join -> first decoded frame (3 publishers in the room, a 4th joins)")
        for mode in ["sfu", "mcu", "hybrid"]:
            times = [await join_to_first_frame(url, mode, f"join-{mode}-{i}") for i in range(args.runs)]
            print(f"  {mode:7s} {fmt(times)}")
        print("mode switch (3 participants): until all decode the new view / until 'completed' / longest audio silence")
        for source, target in [("sfu", "mcu"), ("sfu", "hybrid")]:
            rows = [await switch_time(url, f"switch-{target}-{i}", target) for i in range(args.runs)]
            print(f"  {source}->{target:7s} media {fmt([r[0] for r in rows])}; completed {fmt([r[1] for r in rows])}; "
                  f"silence {fmt([r[2] for r in rows])}")
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "..", ".build", "release", "tessera"))
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
