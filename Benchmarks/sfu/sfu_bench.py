"""SFU forwarding benchmark: one aiortc publisher (VP8 + Opus) forwarded by
Tessera to N aiortc subscribers; reports the server's CPU and the packets it
forwarded per second, for several N. A benchmark, not a test: it prints
figures and asserts nothing.

Server pinned to core 0, this generator to core 1 (the machine has 2 cores).
Subscribers do not decode (their decoder is replaced by one that drops
frames) so the generator can host many; packets are counted from their
RTCP/RTP statistics.

usage: python sfu_bench.py --bin .build/release/tessera --subscribers 1,5,10,20 --seconds 10
"""
import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import aiortc.rtcrtpreceiver as rtcrtpreceiver
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "EndToEnd"))
from conftest import Client  # noqa: E402  (the raw Kurento client of the test suite)
from media import ToneTrack, make_endpoint, negotiate, peer_connection  # noqa: E402

import av  # noqa: E402
import fractions  # noqa: E402
from aiortc.mediastreams import MediaStreamTrack  # noqa: E402


class NullDecoder:
    """Counts nothing, decodes nothing: subscribers only receive packets."""
    def decode(self, encoded_frame):
        return []


rtcrtpreceiver.get_decoder = lambda codec: NullDecoder()


class MovingTrack(MediaStreamTrack):
    """640x360 video with moving content, so VP8 produces a realistic bitrate."""
    kind = "video"

    def __init__(self):
        super().__init__()
        self.count = 0
        self.start = None
        rng = np.random.default_rng(1)
        self.noise = rng.integers(0, 255, (360, 1280, 3), dtype=np.uint8)

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        self.count += 1
        wait = self.start + self.count / 30 - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        x = (self.count * 8) % 640
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(self.noise[:, x:x + 640]), format="rgb24")
        frame.pts = self.count * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def packets_received(pcs):
    total = 0
    for pc in pcs:
        for s in (await pc.getStats()).values():
            if s.type == "inbound-rtp":
                total += s.packetsReceived
    return total


PUBLISHER_KBPS = 2500


async def run_round(url, pid, n, seconds):
    kurento = Client(url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]

    pub = make_endpoint(kurento, p)
    pub_pc = peer_connection()
    pub_pc.addTrack(MovingTrack())
    pub_pc.addTrack(ToneTrack(440))
    await negotiate(kurento, pub, pub_pc)
    subs = []
    for _ in range(n):
        w = make_endpoint(kurento, p)
        # The same workload as Janus's room (janus/janus.plugin.videoroom.jcfg: bitrate 2500000, sent
        # to the publisher as REMB): each viewer's send bandwidth pinned there, so Tessera asks the
        # publisher for 2.5 Mbit/s too instead of following the viewers' slowly ramping estimates.
        for op, name in [("setMaxVideoSendBandwidth", "maxVideoSendBandwidth"), ("setMinVideoSendBandwidth", "minVideoSendBandwidth")]:
            kurento.result("invoke", {"object": w, "operation": op, "operationParams": {name: PUBLISHER_KBPS}})
        kurento.result("invoke", {"object": pub, "operation": "connect", "operationParams": {"sink": w}})
        pc = peer_connection()
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        await negotiate(kurento, w, pc)
        subs.append(pc)
    await asyncio.sleep(3)  # settle: ICE, DTLS, first keyframes
    c0, r0, t0 = cpu_seconds(pid), await packets_received(subs), time.time()
    await asyncio.sleep(seconds)
    c1, r1, t1 = cpu_seconds(pid), await packets_received(subs), time.time()
    elapsed = t1 - t0
    pps = (r1 - r0) / elapsed
    cpu = 100 * (c1 - c0) / elapsed
    for pc in subs + [pub_pc]:
        await pc.close()
    kurento.result("release", {"object": p})
    kurento.close()
    return {"subscribers": n, "server_cpu_percent": round(cpu, 1), "forwarded_pps": round(pps),
            "cpu_us_per_packet": round(1e6 * (c1 - c0) / max(1, r1 - r0), 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", ".build", "release", "tessera"))
    ap.add_argument("--subscribers", default="1,5,10,20")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="tessera-sfu-")
    env = dict(os.environ, TESSERA_ADDRESS="127.0.0.1", TESSERA_PORT=str(port), TESSERA_LOG_LEVEL="error",
               TESSERA_ICE_HOST_ADDRESSES="127.0.0.1", TESSERA_RECORDING_DIR=tmp, TESSERA_MEDIA_LOOPS="1")
    server = subprocess.Popen(["taskset", "-c", "0", os.path.abspath(args.bin), "--config",
                               os.path.join(HERE, "..", "..", "Config", "tessera.json")], env=env, cwd=tmp)
    os.sched_setaffinity(0, {1})
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        url = f"ws://127.0.0.1:{port}/kurento"
        print(f"# tessera SFU forwarding, 1 publisher (VP8 640x360 moving + Opus) -> N subscribers; "
              f"server on core 0, peers on core 1; {args.seconds:.0f} s per round")
        for n in [int(x) for x in args.subscribers.split(",")]:
            print(json.dumps(asyncio.run(run_round(url, server.pid, n, args.seconds))), flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
