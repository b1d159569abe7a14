"""RecorderEndpoint and PlayerEndpoint against the real server, with aiortc peers.

Recordings are checked with ffprobe/ffmpeg (codecs, duration, packet timing,
decoded colours and tones); playback with an aiortc peer that decodes what a
PlayerEndpoint sends. Everything stays on 127.0.0.1."""
import asyncio
import hashlib
import json
import os
import signal
import shutil
import subprocess
import time

import numpy as np
import pytest

from conftest import Client, Server
from media import (ColourTrack, ToneTrack, centre_colour, colour_close, colour_present, join_hub, make_endpoint,
                   negotiate, peer_connection, receive_only, tone_level, wait_for)

PEOPLE = [
    ("red", (220, 40, 40), 300),
    ("green", (40, 200, 60), 500),
    ("blue", (40, 60, 220), 700),
]

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (ffmpeg) is not installed")


# MARK: helpers

def ffprobe(path, *args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"ffprobe failed on {path}: {out.stderr}"
    return json.loads(out.stdout)


def streams(path):
    return {s["codec_type"]: s for s in ffprobe(path, "-show_streams", "-show_format")["streams"]}


def packets(path, stream):
    """(pts seconds, duration seconds or None) of every packet of 'a' or 'v'."""
    data = ffprobe(path, "-select_streams", stream, "-show_packets", "-show_entries", "packet=pts_time,duration_time")
    return [(float(p["pts_time"]), float(p["duration_time"]) if "duration_time" in p else None)
            for p in data["packets"] if "pts_time" in p]


def frame_at(path, seconds, width, height):
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(seconds), "-i", path, "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60)
    assert out.returncode == 0 and len(out.stdout) == width * height * 3, out.stderr
    return np.frombuffer(out.stdout, dtype=np.uint8).reshape(height, width, 3)


def audio_at(path, seconds, length=1.0):
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(seconds), "-t", str(length), "-i", path, "-vn",
                          "-f", "s16le", "-ac", "1", "-ar", "48000", "-"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return np.frombuffer(out.stdout, dtype=np.int16).astype(np.float64)


def ivf_frames(path):
    """The VP8 frames of a recording, as stored (ffmpeg copies them into IVF)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "ivf", "-"],
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data, frames, i = out.stdout, [], 32
    while i + 12 <= len(data):
        n = int.from_bytes(data[i:i + 4], "little")
        frames.append(data[i + 12:i + 12 + n])
        i += 12 + n
    return frames


def create(kurento, type_, **params):
    return kurento.result("create", {"type": type_, "constructorParams": params})["value"]


def invoke(kurento, obj, op, **params):
    return kurento.result("invoke", {"object": obj, "operation": op, "operationParams": params}).get("value")


def subscribe(kurento, obj, *events):
    for e in events:
        kurento.result("subscribe", {"object": obj, "type": e})


async def send_peer(kurento, pipeline, colour, hz, sink):
    """An aiortc peer sending `colour` and `hz` into a WebRtcEndpoint connected to `sink`."""
    w = make_endpoint(kurento, pipeline)
    invoke(kurento, w, "connect", sink=sink)
    pc = peer_connection()
    pc.addTrack(ColourTrack(colour))
    pc.addTrack(ToneTrack(hz))
    await negotiate(kurento, w, pc)
    return w, pc


# Every VP8 frame aiortc decodes, hashed: what the composite really sent.
DECODED_VP8 = set()


def hook_vp8_decoder():
    from aiortc.codecs import vpx
    if getattr(vpx.Vp8Decoder, "_tessera_hooked", False):
        return
    original = vpx.Vp8Decoder.decode

    def decode(self, encoded_frame):
        DECODED_VP8.add(hashlib.sha1(encoded_frame.data).hexdigest())
        return original(self, encoded_frame)

    vpx.Vp8Decoder.decode = decode
    vpx.Vp8Decoder._tessera_hooked = True


# MARK: (1) a composite recorded through a HubPort

def test_composite_recorded_through_a_hub_port(server):
    hook_vp8_decoder()

    async def run():
        kurento = Client(server.url, timeout=30)
        p = create(kurento, "MediaPipeline")
        composite = create(kurento, "Composite", mediaPipeline=p, width=640, height=360, framerate=15)
        peers = []
        for name, colour, hz in PEOPLE:
            _, _, pc, rec = await join_hub(kurento, p, composite, colour, hz)
            peers.append((pc, rec))
        # Wait until the composite shows everyone before recording.
        ok = await wait_for(lambda: all(r.last_rgb is not None and all(colour_present(r.last_rgb, c) for _, c, _ in PEOPLE)
                                        for _, r in peers), 25)
        assert ok, "the composite never showed all three tiles"

        path = os.path.join(server.tmp.name, "composite.webm")
        port = create(kurento, "HubPort", hub=composite)
        recorder = create(kurento, "RecorderEndpoint", mediaPipeline=p, uri="file://" + path, mediaProfile="WEBM")
        subscribe(kurento, recorder, "Recording", "Stopped", "UriEndpointStateChanged", "MediaFlowInStateChanged", "Error")
        invoke(kurento, port, "connect", sink=recorder)
        invoke(kurento, recorder, "record")
        state = await asyncio.to_thread(kurento.wait_event, "UriEndpointStateChanged", 5, recorder)
        assert state["params"]["value"]["data"]["state"] == "START"
        await asyncio.to_thread(kurento.wait_event, "Recording", 10, recorder)
        started = time.time()
        assert invoke(kurento, recorder, "getState") == "START"
        assert invoke(kurento, recorder, "getUri") == "file://" + path
        await asyncio.sleep(10)
        await asyncio.to_thread(invoke, kurento, recorder, "stopAndWait")
        recorded = time.time() - started
        await asyncio.to_thread(kurento.wait_event, "Stopped", 5, recorder)
        assert not any(e["params"]["value"]["type"] == "Error" for e in kurento.events), kurento.events
        assert invoke(kurento, recorder, "isMediaFlowingIn", mediaType="VIDEO")
        assert invoke(kurento, recorder, "isMediaFlowingIn", mediaType="AUDIO")

        s = streams(path)
        assert s["video"]["codec_name"] == "vp8" and s["audio"]["codec_name"] == "opus", s
        assert (int(s["video"]["width"]), int(s["video"]["height"])) == (640, 360)
        info = ffprobe(path, "-show_format")["format"]
        duration = float(info["duration"])
        print("recorded", round(recorded, 2), "s; file", duration, "s")
        assert abs(duration - recorded) < 0.5, (duration, recorded)
        # Audio and video start together: within what a viewer cannot detect
        # (ITU-R BT.1359: 125 ms with audio late). Each stream is anchored at the
        # arrival of its first packet, so a debug server on a loaded CI core
        # measured up to 101 ms here; 20-40 ms is usual.
        v, a = packets(path, "v"), packets(path, "a")
        print("first video", v[0][0], "first audio", a[0][0])
        assert abs(v[0][0] - a[0][0]) < 0.125, (v[0], a[0])

        frame = frame_at(path, duration / 2, 640, 360)
        for name, colour, _ in PEOPLE:
            assert colour_present(frame, colour), f"{name} tile missing from the recording"
        audio = audio_at(path, duration / 2)
        levels = {hz: tone_level(audio, hz) for _, _, hz in PEOPLE}
        print("tones in the recording", {k: round(v, 2) for k, v in levels.items()})
        for _, _, hz in PEOPLE:
            assert levels[hz] > 0.3, levels

        # No second encode: the recorded VP8 frames are the very frames the
        # composite sent its viewers (byte for byte), not a re-encoding.
        recorded_frames = ivf_frames(path)
        same = sum(hashlib.sha1(f).hexdigest() in DECODED_VP8 for f in recorded_frames)
        print("recorded frames", len(recorded_frames), "identical to the viewers'", same)
        assert len(recorded_frames) > 100 and same >= 0.9 * len(recorded_frames), (same, len(recorded_frames))

        for pc, rec in peers:
            rec.stop()
            await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


# MARK: (2) pause/resume and stopAndWait

def test_pause_resume_leaves_no_gap_and_stop_and_wait_finishes_the_file(server):
    async def run():
        kurento = Client(server.url, timeout=30)
        p = create(kurento, "MediaPipeline")
        path = os.path.join(server.tmp.name, "paused.webm")
        recorder = create(kurento, "RecorderEndpoint", mediaPipeline=p, uri="file://" + path)
        subscribe(kurento, recorder, "Recording", "Paused", "Stopped", "UriEndpointStateChanged")
        w, pc = await send_peer(kurento, p, (200, 120, 40), 440, recorder)
        invoke(kurento, recorder, "record")
        await asyncio.to_thread(kurento.wait_event, "Recording", 10, recorder)
        await asyncio.sleep(3)
        invoke(kurento, recorder, "pause")
        await asyncio.to_thread(kurento.wait_event, "Paused", 5, recorder)
        assert invoke(kurento, recorder, "getState") == "PAUSE"
        await asyncio.sleep(2)
        invoke(kurento, recorder, "record")
        await asyncio.to_thread(kurento.wait_event, "Recording", 10, recorder)
        await asyncio.sleep(3)
        await asyncio.to_thread(invoke, kurento, recorder, "stopAndWait")
        # Right after stopAndWait returns, the file is complete.
        info = ffprobe(path, "-show_format")["format"]
        duration = float(info["duration"])
        print("paused recording", duration, "s")
        assert 5.4 < duration < 6.6, duration
        states = [e["params"]["value"]["data"]["state"] for e in kurento.events
                  if e["params"]["value"]["type"] == "UriEndpointStateChanged"]
        assert states == ["START", "PAUSE", "START", "STOP"], states

        for kind, max_gap in (("a", 0.065), ("v", 0.5)):  # the pause itself was 2 s
            pts = [t for t, _ in packets(path, kind)]
            gaps = np.diff(pts)
            print(kind, "packets", len(pts), "largest gap", round(float(gaps.max()), 3), "smallest", round(float(gaps.min()), 4))
            assert gaps.min() > 0.01, f"{kind}: timestamps overlap"
            assert gaps.max() < max_gap, f"{kind}: a gap of {gaps.max()} s"
        audio = audio_at(path, 4.5)
        assert tone_level(audio, 440) > 0.5
        frame = frame_at(path, 4.5, 320, 240)
        assert colour_close(centre_colour(frame), (200, 120, 40)), centre_colour(frame)

        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


# MARK: (3) the server killed mid-recording

async def recording_one_peer(server, name, colour, hz):
    """One colour-and-tone peer recorded into `name` in the server's recording
    directory; returns (path, peer connection) once the recording started."""
    kurento = Client(server.url, timeout=30)
    p = create(kurento, "MediaPipeline")
    path = os.path.join(server.tmp.name, name)
    recorder = create(kurento, "RecorderEndpoint", mediaPipeline=p, uri="file://" + path)
    subscribe(kurento, recorder, "Recording")
    w, pc = await send_peer(kurento, p, colour, hz, recorder)
    invoke(kurento, recorder, "record")
    await asyncio.to_thread(kurento.wait_event, "Recording", 10, recorder)
    return path, pc


def test_sigkill_mid_recording_leaves_a_readable_file():
    server = Server()
    try:
        async def run():
            path, pc = await recording_one_peer(server, "killed.webm", (30, 160, 200), 660)
            await asyncio.sleep(6)
            os.kill(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
            await pc.close()
            return path

        path = asyncio.run(run())
        s = streams(path)
        assert s["video"]["codec_name"] == "vp8" and s["audio"]["codec_name"] == "opus", s
        v, a = packets(path, "v"), packets(path, "a")
        print("after SIGKILL: video up to", v[-1][0], "s, audio up to", a[-1][0], "s")
        assert v[-1][0] > 4.0 and a[-1][0] > 4.0
        # It decodes too.
        frame = frame_at(path, 3.0, 320, 240)
        assert colour_close(centre_colour(frame), (30, 160, 200)), centre_colour(frame)
    finally:
        server.stop()


def test_sigterm_mid_recording_finishes_the_file():
    """A stopped server (SIGTERM) finishes its recordings: the muxer writes the
    index (Cues) and the duration, which a killed one cannot."""
    server = Server()
    try:
        async def run():
            path, pc = await recording_one_peer(server, "stopped.webm", (200, 60, 30), 440)
            started = time.time()
            await asyncio.sleep(4)
            os.kill(server.proc.pid, signal.SIGTERM)
            code = await asyncio.to_thread(server.proc.wait, 20)
            recorded = time.time() - started
            await pc.close()
            return path, code, recorded

        path, code, recorded = asyncio.run(run())
        assert code == 0, server.log_text()[-3000:]
        assert "recordings complete" in server.log_text()
        with open(path, "rb") as f:
            data = f.read()
        assert b"\x1c\x53\xbb\x6b" in data, "no Cues element: the file was not finished"
        info = ffprobe(path, "-show_format")["format"]
        duration = float(info["duration"])
        print("after SIGTERM: file", duration, "s of", round(recorded, 2), "s")
        assert recorded - 1.0 < duration < recorded + 0.5, (duration, recorded)
        frame = frame_at(path, duration / 2, 320, 240)
        assert colour_close(centre_colour(frame), (200, 60, 30)), centre_colour(frame)
    finally:
        server.stop()


# MARK: (4) PlayerEndpoint into a WebRtcEndpoint

def make_webm(path, colour="0xFF3050E0", hz=880, seconds=5):  # ARGB
    buffers = seconds * 15
    subprocess.run([
        "gst-launch-1.0", "-q",
        "videotestsrc", "pattern=solid-color", f"foreground-color={colour}", f"num-buffers={buffers}", "!",
        "video/x-raw,width=320,height=240,framerate=15/1", "!", "vp8enc", "deadline=1", "keyframe-max-dist=15", "!",
        "queue", "!", "webmmux", "name=mux", "!", "filesink", f"location={path}",
        "audiotestsrc", f"freq={hz}", "volume=0.4", f"num-buffers={seconds * 50}", "samplesperbuffer=960", "!",
        "audio/x-raw,rate=48000,channels=2", "!", "opusenc", "!", "queue", "!", "mux.",
    ], check=True, timeout=60)


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="gst-launch-1.0 is not installed")
def test_player_feeds_a_webrtc_peer_and_ends_with_end_of_stream(server):
    path = os.path.join(server.tmp.name, "clip.webm")
    make_webm(path)

    async def run():
        kurento = Client(server.url, timeout=30)
        p = create(kurento, "MediaPipeline")
        player = create(kurento, "PlayerEndpoint", mediaPipeline=p, uri="file://" + path)
        subscribe(kurento, player, "EndOfStream", "UriEndpointStateChanged")
        info = invoke(kurento, player, "getVideoInfo")
        assert abs(info["duration"] - 5000) < 200 and info["isSeekable"], info
        w = make_endpoint(kurento, p)
        invoke(kurento, player, "connect", sink=w)
        pc, rec, _ = await receive_only(kurento, w)
        await asyncio.sleep(0.5)  # ICE/DTLS up before the first keyframe
        invoke(kurento, player, "play")
        assert invoke(kurento, player, "getState") == "START"
        ok = await wait_for(lambda: rec.last_rgb is not None and len(rec.audio) >= 48000, 10)
        assert ok, f"frames={rec.video_frames} audio={len(rec.audio)}"
        position = invoke(kurento, player, "getPosition")
        assert 500 < position < 5000, position
        colour = centre_colour(rec.last_rgb)
        print("player colour", colour, "tone", round(tone_level(rec.audio, 880), 2))
        assert colour_close(colour, (0x30, 0x50, 0xE0)), colour
        assert tone_level(rec.audio, 880) > 0.5
        await asyncio.to_thread(kurento.wait_event, "EndOfStream", 10, player)
        states = [e["params"]["value"]["data"]["state"] for e in kurento.events
                  if e["params"]["value"]["type"] == "UriEndpointStateChanged"]
        assert states[-1:] == ["STOP"] or invoke(kurento, player, "getState") == "STOP"

        # Play again, seek, pause, stop.
        invoke(kurento, player, "play")
        await asyncio.sleep(0.5)
        kurento.result("invoke", {"object": player, "operation": "setPosition", "operationParams": {"position": 3000}})
        await asyncio.sleep(0.3)
        assert invoke(kurento, player, "getPosition") >= 2900
        invoke(kurento, player, "pause")
        assert invoke(kurento, player, "getState") == "PAUSE"
        error = kurento.error("invoke", {"object": player, "operation": "setPosition", "operationParams": {"position": 60000}})
        assert error["data"]["type"] == "PLAYER_SEEK_FAIL", error
        invoke(kurento, player, "stop")
        assert invoke(kurento, player, "getState") == "STOP"

        rec.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


# MARK: (5) bad input

def test_bad_uris_are_refused_clearly_and_the_server_keeps_serving(server):
    kurento = Client(server.url)
    p = create(kurento, "MediaPipeline")
    rec_dir = server.tmp.name

    def recorder_error(uri, **extra):
        return kurento.error("create", {"type": "RecorderEndpoint",
                                        "constructorParams": {"mediaPipeline": p, "uri": uri, **extra}})

    e = recorder_error("file:///tmp/elsewhere.webm")
    assert e["data"]["type"] == "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR" and "outside the recording directory" in e["message"], e
    e = recorder_error(f"file://{rec_dir}/../escape.webm")
    assert "outside the recording directory" in e["message"], e
    e = recorder_error("http://127.0.0.1:1/x.webm")
    assert "unsupported URI scheme 'http'" in e["message"], e
    e = recorder_error(f"file://{rec_dir}/no/such/dir/x.webm")
    assert "does not exist" in e["message"], e
    e = recorder_error(f"file://{rec_dir}/x.mp4", mediaProfile="MP4")
    assert e["data"]["type"] == "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR" and "MP4" in e["message"], e
    e = kurento.error("create", {"type": "RecorderEndpoint", "constructorParams": {"mediaPipeline": p}})
    assert "uri" in e["message"], e

    def player_error(uri):
        return kurento.error("create", {"type": "PlayerEndpoint", "constructorParams": {"mediaPipeline": p, "uri": uri}})

    e = player_error(f"file://{rec_dir}/missing.webm")
    assert e["data"]["type"] == "URI_PATH_FILE_NOT_FOUND" and "not found" in e["message"], e
    e = player_error(f"file://{rec_dir}")
    assert "not a regular file" in e["message"], e
    junk = os.path.join(rec_dir, "junk.webm")
    with open(junk, "w") as f:
        f.write("this is not a video")
    e = player_error("file://" + junk)
    assert e["data"]["type"] == "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", e
    e = player_error("rtsp://127.0.0.1/stream")
    assert "unsupported URI scheme 'rtsp'" in e["message"], e
    if os.geteuid() != 0:  # root reads any file, so unreadable files exist only for other users
        secret = os.path.join(rec_dir, "secret.webm")
        make_webm(secret, seconds=1)
        os.chmod(secret, 0)
        e = player_error("file://" + secret)
        assert "not readable" in e["message"], e

    # Nothing else was disturbed.
    assert kurento.result("ping", {"interval": 1000})["value"] == "pong"
    assert kurento.result("invoke", {"object": p, "operation": "getChildren"})["value"] == []
    ok = create(kurento, "RecorderEndpoint", mediaPipeline=p, uri=f"file://{rec_dir}/fine.webm")
    assert invoke(kurento, ok, "getState") == "STOP"
    kurento.result("release", {"object": p})
    kurento.close()


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="gst-launch-1.0 is not installed")
def test_http_player_is_inspected_off_the_signalling_path(server):
    """Inspecting an http:// file happens off the signalling actor: a stalled web
    server holds up only the create that names it, for the discoverer's 5 s
    limit, and a served file plays."""
    import http.server
    import threading

    clip = os.path.join(server.tmp.name, "served.webm")
    make_webm(clip, seconds=2)
    stalled = threading.Event()
    release_stall = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=server.tmp.name, **kw)

        def do_GET(self):
            if self.path.startswith("/stall"):
                stalled.set()
                release_stall.wait(15)  # never answers within the server's limit
                return
            super().do_GET()

        def log_message(self, *a):
            pass

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    web.daemon_threads = True
    threading.Thread(target=web.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{web.server_address[1]}"
    try:
        a, b = Client(server.url, timeout=30), Client(server.url)
        pa = create(a, "MediaPipeline")
        answer = []
        t = threading.Thread(target=lambda: answer.append(a.error(
            "create", {"type": "PlayerEndpoint", "constructorParams": {"mediaPipeline": pa, "uri": base + "/stall.webm"}})))
        t.start()
        assert stalled.wait(10), "the server never fetched the stalled URI"
        # While the server waits on that web server, another client is served.
        assert b.result("ping", {"interval": 1000})["value"] == "pong"
        pb = create(b, "MediaPipeline")
        player = create(b, "PlayerEndpoint", mediaPipeline=pb, uri=base + "/served.webm")
        assert not answer, "the stalled create answered before the other client's requests"
        t.join(20)
        assert answer and answer[0]["data"]["type"] == "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", answer
        assert "could not be read within 5 s" in answer[0]["message"], answer
        release_stall.set()
        info = invoke(b, player, "getVideoInfo")
        assert abs(info["duration"] - 2000) < 200, info
        subscribe(b, player, "EndOfStream")
        invoke(b, player, "play")
        b.wait_event("EndOfStream", 15, player)
        assert invoke(a, pa, "getChildren") == []
        a.close()
        b.close()
    finally:
        release_stall.set()
        web.shutdown()


# MARK: (6) many create/record/release cycles

def thread_count(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="gst-launch-1.0 is not installed")
def test_create_release_cycles_leave_no_pipelines_or_threads(server):
    clip = os.path.join(server.tmp.name, "cycle.webm")
    make_webm(clip, seconds=2)

    async def run():
        kurento = Client(server.url, timeout=30)
        p = create(kurento, "MediaPipeline")
        path = os.path.join(server.tmp.name, "cycle-rec.webm")
        # Warm up, then count threads.
        for i in range(2):
            player = create(kurento, "PlayerEndpoint", mediaPipeline=p, uri="file://" + clip)
            recorder = create(kurento, "RecorderEndpoint", mediaPipeline=p, uri="file://" + path)
            invoke(kurento, player, "connect", sink=recorder)
            invoke(kurento, recorder, "record")
            invoke(kurento, player, "play")
            await asyncio.sleep(0.5)
            kurento.result("release", {"object": recorder})
            kurento.result("release", {"object": player})
        await asyncio.sleep(2)
        before = thread_count(server.proc.pid)
        for i in range(20):
            player = create(kurento, "PlayerEndpoint", mediaPipeline=p, uri="file://" + clip)
            recorder = create(kurento, "RecorderEndpoint", mediaPipeline=p, uri="file://" + path)
            invoke(kurento, player, "connect", sink=recorder)
            invoke(kurento, recorder, "record")
            invoke(kurento, player, "play")
            await asyncio.sleep(0.3)
            # Released while recording: the file is still finished.
            kurento.result("release", {"object": recorder})
            kurento.result("release", {"object": player})
        await asyncio.sleep(3)
        after = thread_count(server.proc.pid)
        print("threads before", before, "after 20 cycles", after)
        assert after <= before + 4, (before, after)
        # The last recording, cut by release, is a complete file.
        s = streams(path)
        assert "video" in s and "audio" in s, s
        assert kurento.result("invoke", {"object": p, "operation": "getChildren"})["value"] == []
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())
