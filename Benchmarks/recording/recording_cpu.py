"""CPU cost of recording a 720p composite: three aiortc peers (moving colour
and tone each) in a 1280x720, 30 fps Composite; the server's CPU over a
window without a recorder, then with a RecorderEndpoint attached to a
HubPort of the composite (WEBM, no second encode), then without again.

Not a test: prints the figures. Usage (release build):
    python Benchmarks/recording/recording_cpu.py --bin .build/release/tessera [--seconds 20]
"""
import argparse
import asyncio
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "EndToEnd"))

import conftest  # noqa: E402
from media import join_hub  # noqa: E402

PEOPLE = [((220, 40, 40), 300), ((40, 200, 60), 500), ((40, 60, 220), 700)]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def window(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


async def main(args):
    conftest.BIN = args.bin
    server = conftest.Server(env_overrides={"TESSERA_MEDIA_LOOPS": "1", "TESSERA_MIXER_THREADS": "1"})
    try:
        kurento = conftest.Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        composite = kurento.result("create", {"type": "Composite", "constructorParams": {
            "mediaPipeline": p, "width": 1280, "height": 720, "framerate": 30}})["value"]
        peers = []
        for colour, hz in PEOPLE:
            _, _, pc, rec = await join_hub(kurento, p, composite, colour, hz)
            peers.append((pc, rec))
        await asyncio.sleep(5)  # warm: every peer receives the composite
        pid = server.proc.pid
        before = await window(pid, args.seconds)
        path = os.path.join(server.tmp.name, "bench.webm")
        recorder = kurento.result("create", {"type": "RecorderEndpoint", "constructorParams": {
            "mediaPipeline": p, "uri": f"file://{path}", "mediaProfile": "WEBM"}})["value"]
        port = kurento.result("create", {"type": "HubPort", "constructorParams": {"hub": composite}})["value"]
        kurento.result("invoke", {"object": port, "operation": "connect", "operationParams": {"sink": recorder}})
        kurento.result("invoke", {"object": recorder, "operation": "record"})
        await asyncio.sleep(2)
        during = await window(pid, args.seconds)
        kurento.result("invoke", {"object": recorder, "operation": "stopAndWait"})
        kurento.result("release", {"object": recorder})
        kurento.result("release", {"object": port})
        after = await window(pid, args.seconds)
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height",
                                "-of", "compact", path], capture_output=True, text=True).stdout.strip().replace("\n", "; ")
        frames = [rec.video_frames for _, rec in peers]
        print(f"server CPU (% of one core), {args.seconds} s windows, 3 peers into a 1280x720@30 composite:")
        print(f"  without recorder      {before:6.1f} %")
        print(f"  with recorder         {during:6.1f} %   (recording: {probe})")
        print(f"  without again         {after:6.1f} %")
        print(f"  recorder cost         {during - (before + after) / 2:+6.1f} % of a core; peers decoded {frames} frames")
        for pc, rec in peers:
            rec.stop()
            await pc.close()
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "..", ".build", "release", "tessera"))
    parser.add_argument("--seconds", type=float, default=20)
    asyncio.run(main(parser.parse_args()))
