"""The shared media port (ICE-lite mode, docs/media-plane.md) with real peers:
a peer that changes address mid-call keeps its media, strangers get nothing,
and the port carries many peers at once without mixing them up."""
import asyncio
import json
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import ICE_MODE, Client, Server
from media import centre_colour, colour_close, dominant_frequency, wait_for
from netfault import FaultyPath
from test_network_faults import faulty_loopback, first_after

lite_only = pytest.mark.skipif(ICE_MODE != "lite", reason="the shared port exists in ICE-lite mode only")
LOAD = os.environ.get("TESSERA_LOAD_BIN", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "tessera-load"))


def metric(server, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in server.metrics().splitlines():
        if line.startswith(name + ("{" + want + "}" if want else " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@lite_only
def test_a_peer_that_changes_address_keeps_its_media(server):
    """Mid-call, everything the peer sends starts coming from a new source port
    (a NAT rebinding) and the server's packets to the old one are lost. aiortc's
    next consent check from the new address moves the session there: video and
    audio come back, with the colour and tone they had."""
    async def run():
        async with faulty_loopback(server, 21, (40, 90, 210), 480) as (kurento, w, path, rec):
            kurento.result("subscribe", {"object": w, "type": "NewCandidatePairSelected"})
            old_port = path.server_facing[1]
            path.rebind()
            moved = time.monotonic()
            # aioice checks consent every 4-6 s; the selected address must first have been silent for 2 s.
            event = await asyncio.to_thread(kurento.wait_event, "NewCandidatePairSelected", 20)
            switched = time.monotonic() - moved
            remote = event["params"]["value"]["data"]["candidatePair"]["remoteCandidate"]
            # Video takes about 17 s to come back here, audio about 5 (docs/robustness.md).
            back = await wait_for(lambda: first_after(list(rec.video_times), moved + 0.5) is not None
                                  and first_after(list(rec.audio_times), moved + 0.5) is not None, 35)
            video = first_after(list(rec.video_times), moved + 0.5)
            audio = first_after(list(rec.audio_times), moved + 0.5)
            print(f"address changed: new pair after {switched:.1f} s, video back after "
                  f"{video + 0.5 if video is not None else None} s, audio after "
                  f"{audio + 0.5 if audio is not None else None} s; new pair's remote: {remote}")
            assert back, "media did not come back after the peer's address changed"
            assert str(path.server_facing[1]) in remote.split() and str(old_port) not in remote.split(), remote
            # The first frames after the gap can be decoded from frames whose references were
            # lost (grey, green blocks) until a keyframe arrives: wait for the sent colour.
            right = await wait_for(lambda: rec.last_rgb is not None and colour_close(centre_colour(rec.last_rgb), (40, 90, 210)), 20)
            assert right, centre_colour(rec.last_rgb)
            frames = rec.video_frames
            await asyncio.sleep(3)
            assert rec.video_frames - frames >= 60, rec.video_frames - frames
            assert colour_close(centre_colour(rec.last_rgb), (40, 90, 210)), centre_colour(rec.last_rgb)
            assert abs(dominant_frequency(rec.audio[-48000:]) - 480) < 10

    asyncio.run(asyncio.wait_for(run(), 120))


def stun_request(username, tx=b"\x07" * 12):
    """A binding request with USERNAME and no MESSAGE-INTEGRITY."""
    user = username.encode()
    pad = (4 - len(user) % 4) % 4
    attrs = struct.pack("!HH", 0x0006, len(user)) + user + b"\x00" * pad
    return struct.pack("!HHI", 0x0001, len(attrs), 0x2112A442) + tx + attrs


@lite_only
def test_strangers_on_the_shared_port_get_nothing_and_are_counted(server):
    """Datagrams from an address no authenticated check came from: RTP-looking
    garbage, DTLS, STUN naming nobody, unauthenticated STUN naming a real
    endpoint. None gets more than a 401 of at most its own size; the server keeps
    serving a real peer meanwhile."""
    async def run():
        async with faulty_loopback(server, 5, (200, 200, 30), 700) as (kurento, w, path, rec):
            # The shared port: the one the server's candidate names.
            host, port = path.server_address
            ufrag = None
            sdp = kurento.result("invoke", {"object": w, "operation": "getLocalSessionDescriptor"})["value"]
            for line in sdp.splitlines():
                if line.startswith("a=ice-ufrag:"):
                    ufrag = line.split(":", 1)[1].strip()
            before = {r: metric(server, "tessera_udp_dropped_total", reason=r)
                      for r in ("unknownSource", "malformedSTUN", "unknownUsername", "badIntegrity")}
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.3)
            sent = [bytes([0x80, 0x60]) + os.urandom(200), bytes([0x16, 0xFE, 0xFD]) + os.urandom(100),
                    stun_request("nobody:x"), b"\x00\x01\x00\x05garbage", stun_request(f"{ufrag}:" + "x" * 40)]
            replies = []
            for d in sent:
                s.sendto(d, (host, port))
                try:
                    replies.append((len(d), s.recv(2048)))
                except socket.timeout:
                    pass
            s.close()
            # Only the check naming the real endpoint is answered, with a 401 no bigger than it.
            assert len(replies) == 1, replies
            size, reply = replies[0]
            assert reply[0:2] == b"\x01\x11" and len(reply) <= size, reply.hex()
            assert b"\x00\x09" in reply and reply[reply.index(b"\x00\x09") + 6:reply.index(b"\x00\x09") + 8] == b"\x04\x01"
            after = {r: metric(server, "tessera_udp_dropped_total", reason=r) for r in before}
            assert after["unknownSource"] - before["unknownSource"] >= 2, (before, after)
            assert after["unknownUsername"] - before["unknownUsername"] >= 1, (before, after)
            assert after["malformedSTUN"] - before["malformedSTUN"] >= 1, (before, after)
            assert after["badIntegrity"] - before["badIntegrity"] >= 1, (before, after)
            frames = rec.video_frames
            assert await wait_for(lambda: rec.video_frames - frames >= 30, 5)

    asyncio.run(asyncio.wait_for(run(), 60))


@lite_only
def test_a_hundred_peers_on_one_port_each_hear_their_own_tone():
    """tessera-load's Kurento loopback: N WebRtcEndpoints, each connected to
    itself, all on one media loop's port; each peer sends a tone of its own
    (200, 237, 274 ... Hz) and must hear exactly that tone back, not a
    neighbour's. A datagram routed to the wrong peer would be heard."""
    server = Server(env_overrides={"TESSERA_MEDIA_LOOPS": "1"})
    try:
        peers = 100
        cmd = [LOAD, "kurento", "--mode", "loopback", "--url", f"ws://127.0.0.1:{server.port}", "--json",
               "--peers", str(peers), "--seconds", "4", "--decode-sample", str(peers), "--join-rate", "50"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        assert p.returncode == 0, p.stderr[-3000:]
        r = json.loads(p.stdout)
        assert r["connected"] == peers, r
        decoded = r["decodeSample"]
        assert len(decoded) == peers
        wrong = [d for d in decoded if d["heardHz"] or (d["ownLevel"] or 0) < 0.1]
        print(f"{peers} peers; own-tone levels min {min(d['ownLevel'] for d in decoded):.3f}; wrong: {wrong[:5]}")
        assert not wrong, wrong[:10]
        assert metric(server, "tessera_udp_dropped_total", reason="unknownSource") == 0
    finally:
        server.stop()


@lite_only
def test_two_hundred_peers_on_one_port_each_see_their_own_colour():
    """The loopback above with video (tessera-load --video-colours): 200
    WebRtcEndpoints, each connected to itself, on one media loop's port; each
    peer sends its own tone and VP8 of a solid colour of its own (64x64, 5 fps;
    points of a 6x6x6 grid in RGB, at least 44 apart) and decodes what comes
    back. Every picture's centre must be its own colour, no other peer's
    nearer, and the tone its own: a datagram routed to the wrong peer would be
    seen or heard."""
    server = Server(env_overrides={"TESSERA_MEDIA_LOOPS": "1"})
    try:
        peers = 200
        cmd = [LOAD, "kurento", "--mode", "loopback", "--url", f"ws://127.0.0.1:{server.port}", "--json",
               "--peers", str(peers), "--seconds", "4", "--decode-sample", str(peers), "--join-rate", "50",
               "--video-colours", "--server-pid", str(server.proc.pid)]
        started = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        took = time.monotonic() - started
        assert p.returncode == 0, p.stderr[-3000:]
        r = json.loads(p.stdout)
        assert r["connected"] == peers, r
        decoded = r["decodeSample"]
        assert len(decoded) == peers
        frames = [d["framesDecoded"] for d in decoded]
        print(f"{peers} peers in {took:.0f} s: frames decoded per peer min {min(frames)}, max {max(frames)}; "
              f"own-tone levels min {min(d['ownLevel'] or 0 for d in decoded):.3f}; "
              f"server CPU {r['server'].get('cpuPercent')} %, generator CPU {r['generator'].get('cpuPercent')} %")
        # Every picture of the run was its own colour, and the last one is nearest to its own of all 200.
        wrong_colour = [d for d in decoded
                        if not d["colourMatches"] or d["nearestColourOf"] != d["participant"] or d["framesOffColour"]]
        assert not wrong_colour, wrong_colour[:10]
        # 5 fps from the moment it connected: a peer that decoded only a handful was starved or kept waiting for keyframes.
        too_few = [d for d in decoded if d["framesDecoded"] < 10]
        assert not too_few, too_few[:10]
        wrong_tone = [d for d in decoded if d["heardHz"] or (d["ownLevel"] or 0) < 0.1]
        assert not wrong_tone, wrong_tone[:10]
        assert metric(server, "tessera_udp_dropped_total", reason="unknownSource") == 0
    finally:
        server.stop()
