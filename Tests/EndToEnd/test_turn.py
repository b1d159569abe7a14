"""TURN: the server gathers a relayed candidate through coturn (from Debian),
and media flows with a peer that may only use its own relay."""
import asyncio
import os
import shutil
import subprocess
import time

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from conftest import Client, Server, free_port
from media import ColourTrack, Recorder, centre_colour, colour_close, negotiate_seeing_events, wait_for

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="module")
def coturn(tmp_path_factory):
    assert shutil.which("turnserver"), "coturn is installed by `make test` (apt package coturn)"
    folder = tmp_path_factory.mktemp("coturn")
    port = free_port()
    relay_min = 49300
    proc = subprocess.Popen(
        ["turnserver", "-c", os.path.join(HERE, "coturn", "turnserver.conf"), "--listening-port", str(port),
         "--min-port", str(relay_min), "--max-port", str(relay_min + 100), "--pidfile", str(folder / "pid"),
         "--userdb", str(folder / "turndb")],
        stdout=open(folder / "log", "w"), stderr=subprocess.STDOUT, cwd=folder)
    time.sleep(1.0)
    assert proc.poll() is None, open(folder / "log").read()
    yield port
    proc.terminate()
    proc.wait(timeout=10)


async def relay_loopback(kurento, w, coturn, colour):
    """Loops `w` back to itself with a relay-only aiortc peer on coturn sending
    `colour`: the server must gather a relayed candidate, and the peer must
    decode its own colour back. Returns (peer connection, recorder)."""
    kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
    pc = RTCPeerConnection(RTCConfiguration(
        iceServers=[RTCIceServer(f"turn:127.0.0.1:{coturn}", username="test", credential="test")],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY))
    rec = Recorder()
    pc.on("track", rec.attach)
    pc.addTrack(ColourTrack(colour))
    _, seen = await negotiate_seeing_events(kurento, w, pc)
    candidates = [v["data"]["candidate"]["candidate"] for v in seen if v["type"] == "IceCandidateFound"]
    assert any(" typ relay" in c for c in candidates), f"the server gathered no relayed candidate: {candidates}"
    assert await wait_for(lambda: rec.video_frames >= 30, 20), rec.video_frames
    assert colour_close(centre_colour(rec.last_rgb), colour), centre_colour(rec.last_rgb)
    return pc, rec


def test_relay_candidate_and_media_through_turn(coturn):
    server = Server({"TESSERA_TURN_SERVERS": f"test:test@127.0.0.1:{coturn}"})
    try:
        async def run():
            kurento = Client(server.url)
            p = kurento.result("create", {"type": "MediaPipeline"})["value"]
            w = kurento.result("create", {"type": "WebRtcEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
            for event in ["IceCandidateFound", "IceGatheringDone", "NewCandidatePairSelected"]:
                kurento.result("subscribe", {"object": w, "type": event})
            pc, rec = await relay_loopback(kurento, w, coturn, (120, 40, 160))
            assert "typ relay" in pc.localDescription.sdp  # the peer is relay-only
            rec.stop()
            await pc.close()
            kurento.result("release", {"object": p})
            kurento.close()

        asyncio.run(asyncio.wait_for(run(), 60))
    finally:
        server.stop()


def test_per_endpoint_turn_url(coturn):
    """The server config has no TURN server; one endpoint gets coturn through
    setTurnUrl (Kurento's user:password@ip:port format) and relays through it."""
    server = Server()
    try:
        async def run():
            kurento = Client(server.url)
            p = kurento.result("create", {"type": "MediaPipeline"})["value"]
            w = kurento.result("create", {"type": "WebRtcEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
            url = f"test:test@127.0.0.1:{coturn}?transport=udp"
            kurento.result("invoke", {"object": w, "operation": "setTurnUrl", "operationParams": {"turnUrl": url}})
            assert kurento.result("invoke", {"object": w, "operation": "getTurnUrl"})["value"] == url
            # Another endpoint of the same server keeps the (empty) server setting.
            other = kurento.result("create", {"type": "WebRtcEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
            assert kurento.result("invoke", {"object": other, "operation": "getTurnUrl"})["value"] == ""
            for event in ["IceCandidateFound", "IceGatheringDone"]:
                kurento.result("subscribe", {"object": w, "type": event})
            pc, rec = await relay_loopback(kurento, w, coturn, (30, 160, 90))
            # Gathering has started: the setting can no longer change.
            err = kurento.error("invoke", {"object": w, "operation": "setTurnUrl", "operationParams": {"turnUrl": ""}})
            assert err["code"] == 40107, err
            rec.stop()
            await pc.close()
            kurento.result("release", {"object": p})
            kurento.close()

        asyncio.run(asyncio.wait_for(run(), 60))
    finally:
        server.stop()
