"""tessera-load against the real server: 50 generator participants in an MCU
room (packets, decoded tones, the server's own /metrics counters), the
generator checked against an independent stack (aiortc), and bad input."""
import asyncio
import json
import os
import re
import subprocess
import time

from conftest import REPO, Server
from media import tone_level, wait_for
from room_client import Participant

LOAD = os.environ.get("TESSERA_LOAD_BIN", os.path.join(REPO, ".build", "debug", "tessera-load"))


def run_load(server, *args, timeout=120):
    cmd = [LOAD, "audio-room", "--url", f"ws://127.0.0.1:{server.port}", "--json",
           "--server-pid", str(server.proc.pid), *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    report = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
    return p, report


def rtp_packets(server):
    """tessera_rtp_packets_total by (direction, kind) from /metrics."""
    out = {}
    for m in re.finditer(r'^tessera_rtp_packets_total\{([^}]*)\} (\d+)', server.metrics(), re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out[(labels["direction"], labels["kind"])] = int(m.group(2))
    return out


def test_fifty_audio_peers_in_an_mcu_room():
    server = Server()
    try:
        before = rtp_packets(server)
        p, r = run_load(server, "--peers", 50, "--seconds", 6, "--talkers", 3, "--decode-sample", 5, "--mode", "mcu")
        print(p.stderr[-1500:])
        assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
        print(json.dumps(r, indent=1)[:3000])
        assert r["connected"] == 50 and r["failed"] == 0, r["failures"]
        # Every participant hears the mix: 50 packets/s (one per 20 ms).
        assert r["receivedPacketsPerSecondPerParticipant"]["min"] >= 45, r["receivedPacketsPerSecondPerParticipant"]
        assert r["loss"] < 0.01
        # The sampled talkers hear the two other talkers and not themselves; the
        # sampled listeners hear all three.
        assert len(r["decodeSample"]) == 5
        for d in r["decodeSample"]:
            assert sorted(d["heardHz"]) == sorted(d["expectedHz"]), d
            if d["ownHz"] is not None:
                assert d["ownLevel"] < 0.01, d
        # The server counted the same packets (RTP in and out, whole run).
        assert await_metrics_flushed(server, before, r)
    finally:
        server.stop()


def await_metrics_flushed(server, before, r):
    """Sessions add their counts once a second and when they close: poll until
    the server's counts stop moving, then compare with the generator's totals."""
    deadline = time.time() + 10
    last = None
    while time.time() < deadline:
        now = rtp_packets(server)
        if now == last:
            break
        last = now
        time.sleep(1.2)
    got_in = last.get(("in", "audio"), 0) - before.get(("in", "audio"), 0)
    got_out = last.get(("out", "audio"), 0) - before.get(("out", "audio"), 0)
    sent, received = r["totals"]["sentPackets"], r["totals"]["receivedPackets"]
    print(f"server counted in {got_in} / generator sent {sent}; server sent {got_out} / generator received {received}")
    assert abs(got_in - sent) <= 0.02 * sent, (got_in, sent)
    # The generator stops receiving when it closes its peers; the server sends
    # on until each participant has left (up to about a second of 50 x 50 packets).
    assert abs(got_out - received) <= 0.02 * received + 50 * 50, (got_out, received)
    return True


def test_the_generator_and_aiortc_hear_each_other():
    """One aiortc participant (1000 Hz) in the generator's MCU room: aiortc
    hears the generator's talkers, the generator's sample hears aiortc."""
    server = Server()
    try:
        async def run():
            cmd = [LOAD, "audio-room", "--url", f"ws://127.0.0.1:{server.port}", "--json", "--room", "mixed",
                   "--peers", 4, "--talkers", 2, "--decode-sample", 4, "--seconds", 8, "--listen-for", 1000]
            proc = await asyncio.create_subprocess_exec(*map(str, cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            url = f"ws://127.0.0.1:{server.port}/room"
            ai = Participant(url, "aiortc", "mixed", (200, 40, 40), 1000, mode="mcu")
            await ai.join()
            await ai.publish()
            assert await wait_for(lambda: ai.recorder("$mcu") is not None and len(ai.recorder("$mcu").audio) >= 48000, 20)
            await asyncio.sleep(3)
            audio = ai.recorder("$mcu").audio[-48000:]
            levels = {hz: tone_level(audio, hz) for hz in (300, 340, 1000)}
            print("aiortc hears", levels)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            await ai.close()
            assert proc.returncode == 0, err.decode()[-2000:]
            r = json.loads(out)
            print(json.dumps(r["decodeSample"]))
            assert levels[300] > 0.3 and levels[340] > 0.3 and levels[1000] < 0.05, levels
            for d in r["decodeSample"]:
                assert 1000 in d["heardHz"], d
        asyncio.run(asyncio.wait_for(run(), 120))
    finally:
        server.stop()


def test_bad_input_gives_one_line_errors_and_a_nonzero_exit():
    # No server on that port: the first join fails, the run ends at once.
    started = time.time()
    p = subprocess.run([LOAD, "audio-room", "--url", "ws://127.0.0.1:9", "--peers", "20", "--seconds", "5"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and time.time() - started < 20
    assert "20 of 20 participants failed" in p.stderr, p.stderr
    # Not a WebSocket URL: refused before anything starts.
    p = subprocess.run([LOAD, "audio-room", "--url", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--url must start with ws://" in p.stderr, p.stderr
    # A room limit: the server refuses joins past 3, each refusal is listed.
    server = Server(env_overrides={"TESSERA_ROOM_MAX_PARTICIPANTS": "3"})
    try:
        p, r = run_load(server, "--peers", 5, "--seconds", 2, "--talkers", 1, timeout=90)
        assert p.returncode != 0
        assert r["connected"] == 3 and r["failed"] == 2, r
        assert any("error" in reason for reason in r["failures"]), r["failures"]
        assert "2 of 5 participants failed" in p.stderr, p.stderr
    finally:
        server.stop()


def run_scenario(server, scenario, *args, timeout=120):
    cmd = [LOAD, scenario, "--url", f"ws://127.0.0.1:{server.port}", "--json", "--server-pid", str(server.proc.pid),
           *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, (scenario, p.returncode, p.stderr[-2000:])
    return json.loads(p.stdout)


def test_video_and_kurento_scenarios():
    """video-room (one VP8 publisher, SFU, three viewers), and the Kurento
    protocol both ways (Composite + HubPorts; DispatcherOneToMany): everyone
    connects, viewers get about 30 frames/s with keyframes, mixers' listeners
    hear the other talkers and not themselves; nothing is left on the server."""
    server = Server()
    try:
        r = run_scenario(server, "video-room", "--peers", 4, "--publishers", 1, "--seconds", 4)
        print("video-room:", json.dumps(r["video"]), r["server"])
        assert r["connected"] == 4 and r["video"]["framesPerSecondPerViewer"]["min"] >= 25 and r["video"]["keyframes"] >= 3, r
        r = run_scenario(server, "kurento", "--mode", "sfu", "--peers", 4, "--seconds", 4)
        assert r["connected"] == 4 and r["video"]["framesPerSecondPerViewer"]["min"] >= 25, r
        r = run_scenario(server, "kurento", "--mode", "mcu", "--peers", 5, "--talkers", 2, "--seconds", 4, "--decode-sample", 2)
        assert r["connected"] == 5 and r["receivedPacketsPerSecondPerParticipant"]["min"] >= 45, r
        for d in r["decodeSample"]:
            assert sorted(d["heardHz"]) == sorted(d["expectedHz"]) and d["ownLevel"] < 0.01, d
        assert wait_until(lambda: server.health()["objects"] == 0, 10), server.health()
    finally:
        server.stop()


def wait_until(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()
