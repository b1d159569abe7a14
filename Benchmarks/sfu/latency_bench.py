"""Added latency per hop: the same RTP payload timed when the publisher
hands it to its transport and when a subscriber's receiver gets it, for a
direct aiortc-to-aiortc call and through Tessera (one hop). Both ends live in
this process, so one clock times both. A benchmark, not a test.

usage: python latency_bench.py --bin .build/release/tessera --seconds 10
"""
import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request

import aiortc.rtcdtlstransport as dtls_module
import aiortc.rtcrtpreceiver as receiver_module
from aiortc.rtp import RtpPacket

import sfu_bench  # noqa: F401,E402  (drops decoding on receivers; pins ICE to 127.0.0.1)
from conftest import Client, free_port
from media import ToneTrack, make_endpoint, negotiate, peer_connection

SENT = {}
LATENCIES = []

_send = dtls_module.RTCDtlsTransport._send_rtp
_handle = receiver_module.RTCRtpReceiver._handle_rtp_packet


async def timed_send(self, data):
    if len(data) > 12 and not (192 <= data[1] <= 223):  # RTP, not RTCP
        try:
            # Latest send time wins: a repeated payload (a periodic tone) is matched to its newest send.
            SENT[hashlib.blake2b(RtpPacket.parse(data).payload, digest_size=8).digest()] = time.perf_counter()
        except ValueError:
            pass
    await _send(self, data)


async def timed_handle(self, packet, arrival_time_ms):
    sent = SENT.pop(hashlib.blake2b(packet.payload, digest_size=8).digest(), None)
    if sent is not None:
        LATENCIES.append(time.perf_counter() - sent)
    await _handle(self, packet, arrival_time_ms)


dtls_module.RTCDtlsTransport._send_rtp = timed_send
receiver_module.RTCRtpReceiver._handle_rtp_packet = timed_handle


def summary(label):
    ms = sorted(1000 * x for x in LATENCIES)
    if not ms:
        return f"{label}: no packets matched"
    return (f"{label}: {len(ms)} packets, median {statistics.median(ms):.3f} ms, "
            f"p90 {ms[int(len(ms) * 0.9)]:.3f} ms, p99 {ms[int(len(ms) * 0.99)]:.3f} ms")


async def direct(seconds):
    a, b = peer_connection(), peer_connection()
    a.addTrack(sfu_bench.MovingTrack())
    a.addTrack(ToneTrack(440))
    b.on("track", lambda t: None)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await asyncio.sleep(2)
    LATENCIES.clear()
    await asyncio.sleep(seconds)
    await a.close()
    await b.close()


async def through_tessera(url, seconds):
    kurento = Client(url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]

    pub, sub = make_endpoint(kurento, p), make_endpoint(kurento, p)
    kurento.result("invoke", {"object": pub, "operation": "connect", "operationParams": {"sink": sub}})
    a, b = peer_connection(), peer_connection()
    a.addTrack(sfu_bench.MovingTrack())
    a.addTrack(ToneTrack(440))
    await negotiate(kurento, pub, a)
    b.addTransceiver("video", direction="recvonly")
    b.addTransceiver("audio", direction="recvonly")
    await negotiate(kurento, sub, b)
    await asyncio.sleep(2)
    LATENCIES.clear()
    await asyncio.sleep(seconds)
    await a.close()
    await b.close()
    kurento.result("release", {"object": p})
    kurento.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "tessera"))
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    asyncio.run(direct(args.seconds))
    direct_summary = summary("direct aiortc -> aiortc")
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="tessera-latency-")
    env = dict(os.environ, TESSERA_ADDRESS="127.0.0.1", TESSERA_PORT=str(port), TESSERA_LOG_LEVEL="error",
               TESSERA_ICE_HOST_ADDRESSES="127.0.0.1", TESSERA_RECORDING_DIR=tmp)
    server = subprocess.Popen([os.path.abspath(args.bin), "--config",
                               os.path.join(os.path.dirname(__file__), "..", "..", "Config", "tessera.json")], env=env, cwd=tmp)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(through_tessera(f"ws://127.0.0.1:{port}/kurento", args.seconds))
        print(direct_summary)
        print(summary("through Tessera (one hop)"))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
