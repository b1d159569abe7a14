"""The same SFU workload as sfu_bench.py against Janus's VideoRoom (Debian's
janus package): one aiortc publisher, N subscribers that do not decode;
Janus pinned to core 0, peers to core 1. Prints Janus's CPU and the packets
it forwarded per second. A benchmark, not a test.

Janus's libnice never offers 127.0.0.1, so here the peers use aiortc's
default host discovery (the machine's own address; the kernel keeps that
traffic local).

usage: python janus_bench.py --subscribers 1,5,10,20 --seconds 10
"""
import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import aioice.ice

DEFAULT_HOSTS = aioice.ice.get_host_addresses  # before sfu_bench pins it; latency_bench uses it too
import sfu_bench  # noqa: E402  (patches aiortc's decoder away; its media import pins ICE to 127.0.0.1)
aioice.ice.get_host_addresses = DEFAULT_HOSTS  # Janus cannot use loopback: back to the default

from aiortc import RTCSessionDescription  # noqa: E402
from media import ToneTrack, peer_connection  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
URL = "http://127.0.0.1:8088/janus"
_tx = itertools.count()


def post(path, body):
    body = dict(body, transaction=f"t{next(_tx)}")
    req = urllib.request.Request(URL + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def poll(session, want, timeout=15):
    """Long-polls session events until one satisfies `want`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with urllib.request.urlopen(f"{URL}/{session}?maxev=1", timeout=timeout) as r:
            ev = json.loads(r.read())
        for e in ev if isinstance(ev, list) else [ev]:
            if want(e):
                return e
    raise TimeoutError("no Janus event")


async def publish(session, pc, room=1234):
    """Joins `room` as publisher with `pc`'s offer; returns the feed id once Janus has the media."""
    handle = post(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})["data"]["id"]
    await pc.setLocalDescription(await pc.createOffer())
    post(f"/{session}/{handle}", {"janus": "message", "body": {"request": "joinandconfigure", "room": room,
         "ptype": "publisher", "display": "pub"}, "jsep": {"type": "offer", "sdp": pc.localDescription.sdp}})
    joined = await asyncio.to_thread(poll, session, lambda e: e.get("sender") == handle and "jsep" in e)
    await pc.setRemoteDescription(RTCSessionDescription(**joined["jsep"]))
    # Janus knows the feed only once the publisher's media is up.
    for _ in range(100):
        if pc.iceConnectionState in ("completed", "connected"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    return joined["plugindata"]["data"]["id"]


async def subscribe(session, feed, room=1234):
    """Joins `room` as subscriber to `feed`: Janus offers, a new aiortc peer answers. Returns the peer."""
    h = post(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})["data"]["id"]
    post(f"/{session}/{h}", {"janus": "message", "body": {"request": "join", "room": room, "ptype": "subscriber",
         "streams": [{"feed": feed}]}})
    offer = await asyncio.to_thread(poll, session, lambda e: e.get("sender") == h and "jsep" in e)
    pc = peer_connection()
    await pc.setRemoteDescription(RTCSessionDescription(**offer["jsep"]))
    await pc.setLocalDescription(await pc.createAnswer())
    post(f"/{session}/{h}", {"janus": "message", "body": {"request": "start"},
         "jsep": {"type": "answer", "sdp": pc.localDescription.sdp}})
    return pc


async def run_round(pid, n, seconds):
    session = post("", {"janus": "create"})["data"]["id"]
    pub = peer_connection()
    pub.addTrack(sfu_bench.MovingTrack())
    pub.addTrack(ToneTrack(440))
    feed = await publish(session, pub)
    subs = [await subscribe(session, feed) for _ in range(n)]
    await asyncio.sleep(3)
    c0, r0, t0 = sfu_bench.cpu_seconds(pid), await sfu_bench.packets_received(subs), time.time()
    await asyncio.sleep(seconds)
    c1, r1, t1 = sfu_bench.cpu_seconds(pid), await sfu_bench.packets_received(subs), time.time()
    for pc in subs + [pub]:
        await pc.close()
    post(f"/{session}", {"janus": "destroy"})
    return {"subscribers": n, "janus_cpu_percent": round(100 * (c1 - c0) / (t1 - t0), 1),
            "forwarded_pps": round((r1 - r0) / (t1 - t0)),
            "cpu_us_per_packet": round(1e6 * (c1 - c0) / max(1, r1 - r0), 2)}


def start_janus(core=0):
    """Starts Debian's janus with the configs in janus/ (HTTP API on 127.0.0.1:8088, VideoRoom room 1234)
    pinned to `core`, and waits until its API answers."""
    assert shutil.which("janus"), "install Debian's janus package"
    conf = tempfile.mkdtemp(prefix="janus-bench-")
    for name in os.listdir(os.path.join(HERE, "janus")):
        text = open(os.path.join(HERE, "janus", name)).read().replace("CONFIG_DIR", conf)
        open(os.path.join(conf, name), "w").write(text)
    janus = subprocess.Popen(["taskset", "-c", str(core), "janus", "-F", conf, "-C", os.path.join(conf, "janus.jcfg"),
                              "-N", "-L", os.path.join(conf, "janus.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(URL + "/info", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return janus


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", default="1,5,10,20")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    janus = start_janus(core=0)
    os.sched_setaffinity(0, {1})
    try:
        print(f"# Janus VideoRoom, same workload; Janus on core 0, peers on core 1; {args.seconds:.0f} s per round")
        for n in [int(x) for x in args.subscribers.split(",")]:
            print(json.dumps(asyncio.run(run_round(janus.pid, n, args.seconds))), flush=True)
    finally:
        janus.terminate()
        janus.wait()


if __name__ == "__main__":
    main()
