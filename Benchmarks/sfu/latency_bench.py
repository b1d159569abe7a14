"""Added latency per hop: the same RTP payload timed when the publisher
hands it to its transport and when a subscriber's receiver gets it, for a
direct aiortc-to-aiortc call, through Tessera (one hop) and through Janus's
VideoRoom from Debian (one hop), in the same run. Both ends live in this
process, so one clock times both. A benchmark, not a test.

Tessera and Janus run pinned to core 0 (one at a time), this generator to
core 1. The direct call and Tessera's peers use 127.0.0.1; Janus cannot use
loopback candidates, so its peers use aiortc's default host discovery (the
machine's own address, which the kernel keeps local).

usage: python latency_bench.py --bin .build/release/tessera [--config Config/tessera.json] --seconds 10
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

import aioice.ice
import aiortc.rtcdtlstransport as dtls_module
import aiortc.rtcrtpreceiver as receiver_module
from aiortc.rtp import RtpPacket

import janus_bench  # noqa: E402  (import before sfu_bench: it keeps aioice's default host discovery for Janus)
import sfu_bench  # noqa: F401,E402  (drops decoding on receivers)
from conftest import Client, free_port
from media import ToneTrack, make_endpoint, negotiate, peer_connection

HERE = os.path.dirname(os.path.abspath(__file__))
SENT = {}
LATENCIES = []

_send = dtls_module.RTCDtlsTransport._send_rtp
_handle = receiver_module.RTCRtpReceiver._handle_rtp_packet


def loopback_hosts(use_ipv4=True, use_ipv6=True):
    return ["127.0.0.1"]


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


def publisher():
    pc = peer_connection()
    pc.addTrack(sfu_bench.MovingTrack())
    pc.addTrack(ToneTrack(440))
    return pc


async def measure(seconds):
    """Settles for 2 s, then keeps the latencies of the next `seconds`."""
    await asyncio.sleep(2)
    LATENCIES.clear()
    SENT.clear()
    await asyncio.sleep(seconds)
    return list(LATENCIES)


async def direct(seconds):
    aioice.ice.get_host_addresses = loopback_hosts
    a, b = publisher(), peer_connection()
    b.on("track", lambda t: None)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    result = await measure(seconds)
    await a.close()
    await b.close()
    return result


async def through_tessera(url, seconds):
    aioice.ice.get_host_addresses = loopback_hosts
    kurento = Client(url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]

    pub, sub = make_endpoint(kurento, p), make_endpoint(kurento, p)
    kurento.result("invoke", {"object": pub, "operation": "connect", "operationParams": {"sink": sub}})
    a, b = publisher(), peer_connection()
    await negotiate(kurento, pub, a)
    b.addTransceiver("video", direction="recvonly")
    b.addTransceiver("audio", direction="recvonly")
    await negotiate(kurento, sub, b)
    result = await measure(seconds)
    await a.close()
    await b.close()
    kurento.result("release", {"object": p})
    kurento.close()
    return result


async def through_janus(seconds):
    aioice.ice.get_host_addresses = janus_bench.DEFAULT_HOSTS  # Janus cannot use loopback candidates
    session = janus_bench.post("", {"janus": "create"})["data"]["id"]
    a = publisher()
    feed = await janus_bench.publish(session, a)
    b = await janus_bench.subscribe(session, feed)
    result = await measure(seconds)
    await a.close()
    await b.close()
    janus_bench.post(f"/{session}", {"janus": "destroy"})
    return result


def row(label, latencies):
    ms = sorted(1000 * x for x in latencies)
    if not ms:
        return f"| {label} | 0 | - | - | - |"
    return (f"| {label} | {len(ms):,} | {statistics.median(ms):.2f} ms | {ms[int(len(ms) * 0.9)]:.2f} ms "
            f"| {ms[int(len(ms) * 0.99)]:.2f} ms |")


def run_tessera(binary, config, seconds):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="tessera-latency-")
    env = dict(os.environ, TESSERA_ADDRESS="127.0.0.1", TESSERA_PORT=str(port), TESSERA_LOG_LEVEL="error",
               TESSERA_ICE_HOST_ADDRESSES="127.0.0.1", TESSERA_RECORDING_DIR=tmp, TESSERA_MEDIA_LOOPS="1")
    server = subprocess.Popen(["taskset", "-c", "0", os.path.abspath(binary), "--config", os.path.abspath(config)],
                              env=env, cwd=tmp)
    try:
        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit(f"tessera exited with {server.returncode} (does --config match --bin?)")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        return asyncio.run(through_tessera(f"ws://127.0.0.1:{port}/kurento", seconds))
    finally:
        server.terminate()
        server.wait()


def run_janus(seconds):
    janus = janus_bench.start_janus(core=0)
    try:
        return asyncio.run(through_janus(seconds))
    finally:
        janus.terminate()
        janus.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", ".build", "release", "tessera"))
    ap.add_argument("--config", default=os.path.join(HERE, "..", "..", "Config", "tessera.json"),
                    help="the config that matches --bin (a binary built from another checkout takes that checkout's)")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    load0 = os.getloadavg()
    rows = [("direct aiortc → aiortc", asyncio.run(direct(args.seconds))),
            ("through Tessera (one hop)", run_tessera(args.bin, args.config, args.seconds)),
            ("through Janus VideoRoom (one hop)", run_janus(args.seconds))]
    load1 = os.getloadavg()
    print(f"# added latency per hop: publisher transport send -> subscriber receiver, same clock; "
          f"{args.seconds:.0f} s per path; servers on core 0, peers on core 1; "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    print("| path | packets | median | p90 | p99 |")
    print("| --- | --- | --- | --- | --- |")
    for label, latencies in rows:
        print(row(label, latencies))


if __name__ == "__main__":
    main()
