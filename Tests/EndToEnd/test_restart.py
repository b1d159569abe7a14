"""Crash safety: a server killed with SIGKILL in the middle of a call is
restarted on the same signalling port and the same shared media port, and
takes clients and media again at once."""

import asyncio
import os
import signal
import socket
import time

from conftest import ICE_MODE, Client, Server
from media import (ColourTrack, Recorder, ToneTrack, centre_colour, colour_close, make_endpoint, negotiate,
                   peer_connection, wait_for)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def loopback_call(server, colour):
    """A peer sending `colour` to a WebRtcEndpoint connected to itself; returns once the colour comes back."""
    kurento = Client(server.url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]
    w = make_endpoint(kurento, p)
    kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
    pc = peer_connection()
    rec = Recorder()
    pc.on("track", rec.attach)
    pc.addTrack(ColourTrack(colour))
    pc.addTrack(ToneTrack(500))
    answer = await negotiate(kurento, w, pc)
    seen = await wait_for(lambda: rec.last_rgb is not None and colour_close(centre_colour(rec.last_rgb), colour), 20)
    return kurento, pc, rec, answer, seen


def test_a_killed_server_restarts_on_its_ports_and_takes_calls_again():
    media_port = free_udp_port()
    env = {"TESSERA_ICE_UDP_PORT": str(media_port), "TESSERA_MEDIA_LOOPS": "1"}
    first = Server(env_overrides=env)
    port = first.port
    try:
        async def before():
            kurento, pc, rec, answer, seen = await loopback_call(first, (200, 40, 40))
            assert seen, centre_colour(rec.last_rgb) if rec.last_rgb is not None else "no video"
            if ICE_MODE == "lite":
                assert f" {media_port} typ host" in answer, answer
            os.kill(first.proc.pid, signal.SIGKILL)
            first.proc.wait(timeout=10)
            rec.stop()
            await pc.close()
            kurento.ws.close()
        asyncio.run(asyncio.wait_for(before(), 60))
    finally:
        first.stop()

    # The same ports at once: the signalling port (TCP) and the shared media port (UDP).
    started = time.time()
    second = Server(env_overrides=env, port=port)
    try:
        answering = time.time() - started
        kurento = Client(second.url)
        assert kurento.result("ping", {})["value"] == "pong"
        print(f"restarted: /health answered {answering:.2f} s after the new process started")

        async def after():
            kurento, pc, rec, answer, seen = await loopback_call(second, (40, 40, 200))
            assert seen, centre_colour(rec.last_rgb) if rec.last_rgb is not None else "no video"
            if ICE_MODE == "lite":
                assert f" {media_port} typ host" in answer, answer
            rec.stop()
            await pc.close()
            kurento.close()
        asyncio.run(asyncio.wait_for(after(), 60))
        kurento.close()
    finally:
        second.stop()
