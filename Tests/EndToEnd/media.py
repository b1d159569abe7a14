"""Media for the end-to-end tests: synthetic aiortc tracks that send a known
colour and tone, sinks that record what arrives, and the analysis that says
which colour and which frequencies were really received."""
import asyncio
import collections
import fractions
import time

import aioice.ice
from aiortc import RTCSessionDescription
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

RATE = 48000
SAMPLES_PER_FRAME = 960  # 20 ms

# aiortc gathers on every interface except 127.0.0.1; the tests stay on loopback.
# The host addresses aiortc peers gather: loopback, unless a test across network
# namespaces (test_cluster.py) sets its bridge address here for a while.
HOST_ADDRESSES = ["127.0.0.1"]
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: list(HOST_ADDRESSES)


def peer_connection():
    """A peer with no STUN server (aiortc's default would reach the internet)."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class ColourTrack(MediaStreamTrack):
    """Solid-colour 320x240 video at 30 fps; with `noise`, each frame has
    moving noise of that amplitude around the colour (hard to compress, so
    encoders run at their bitrate ceiling; its mean colour is unchanged)."""
    kind = "video"

    def __init__(self, rgb, width=320, height=240, noise=0):
        super().__init__()
        self.image = np.full((height, width, 3), rgb, dtype=np.uint8)
        self.frames = [self.image]
        if noise:
            rng = np.random.default_rng(1)
            base = self.image.astype(np.int16)
            self.frames = [np.clip(base + rng.integers(-noise, noise + 1, base.shape), 0, 255).astype(np.uint8) for _ in range(7)]
        self.start = None
        self.count = 0

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        self.count += 1
        wait = self.start + self.count / 30 - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.VideoFrame.from_ndarray(self.frames[self.count % len(self.frames)], format="rgb24")
        frame.pts = self.count * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


class ToneTrack(MediaStreamTrack):
    """A sine tone, 48 kHz mono s16 in 20 ms frames, paced in real time."""
    kind = "audio"

    def __init__(self, hz, amplitude=0.25):
        super().__init__()
        self.hz = hz
        self.amplitude = amplitude
        self.start = None
        self.sent = 0

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        wait = self.start + self.sent / RATE - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(SAMPLES_PER_FRAME) + self.sent) / RATE
        samples = (np.sin(2 * np.pi * self.hz * t) * self.amplitude * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.sent
        frame.time_base = fractions.Fraction(1, RATE)
        self.sent += SAMPLES_PER_FRAME
        return frame


class Recorder:
    """Consumes received tracks: keeps the latest video frame, counts frames,
    and keeps the last few seconds of audio as mono samples."""

    def __init__(self):
        self.video_frames = 0
        self.last_rgb = None
        # Picture sizes (width, height) of the latest video frames, in order.
        self.video_sizes = collections.deque(maxlen=3000)
        self.audio = np.zeros(0, dtype=np.float64)
        self.audio_frames = 0
        # Arrival times (time.monotonic) of the latest frames, for gap and recovery measurements.
        self.video_times = collections.deque(maxlen=3000)
        self.audio_times = collections.deque(maxlen=3000)
        self.tasks = []

    def attach(self, track):
        self.tasks.append(asyncio.ensure_future(self._run(track)))

    async def _run(self, track):
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.video_frames += 1
                    self.video_times.append(time.monotonic())
                    self.video_sizes.append((frame.width, frame.height))
                    if self.video_frames % 5 == 0:
                        self.last_rgb = frame.to_ndarray(format="rgb24")
                else:
                    self.audio_frames += 1
                    self.audio_times.append(time.monotonic())
                    data = frame.to_ndarray().astype(np.float64)
                    channels = len(frame.layout.channels)
                    mono = data.reshape(-1, channels).mean(axis=1) if data.shape[0] == 1 else data.mean(axis=0)
                    self.audio = np.concatenate([self.audio, mono])[-RATE * 4:]
        except Exception:
            return

    def stop(self):
        for t in self.tasks:
            t.cancel()


def centre_colour(rgb):
    h, w, _ = rgb.shape
    patch = rgb[h // 4: 3 * h // 4, w // 4: 3 * w // 4].reshape(-1, 3)
    return tuple(int(v) for v in patch.mean(axis=0))


def colour_close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def colour_present(rgb, colour, tolerance=45):
    """True when a clear patch of `colour` is somewhere in the frame."""
    h, w, _ = rgb.shape
    for y in range(h // 16, h, h // 8):
        for x in range(w // 16, w, w // 8):
            patch = rgb[max(0, y - 4): y + 4, max(0, x - 4): x + 4].reshape(-1, 3).mean(axis=0)
            if colour_close(tuple(int(v) for v in patch), colour, tolerance):
                return True
    return False


def tone_level(samples, hz, rate=RATE):
    """Spectrum magnitude at `hz` relative to the strongest bin (0..1)."""
    if len(samples) < rate // 2:
        return 0.0
    x = samples[-rate:] * np.hanning(min(len(samples), rate))
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = (freqs > hz - 15) & (freqs < hz + 15)
    return float(spectrum[band].max() / (spectrum.max() + 1e-9))


def dominant_frequency(samples, rate=RATE):
    x = samples[-rate:] * np.hanning(min(len(samples), rate))
    spectrum = np.abs(np.fft.rfft(x))
    spectrum[:20] = 0  # ignore DC and rumble
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(spectrum.argmax())])


async def add_remote_candidate(pc, candidate):
    """Adds a Kurento IceCandidate register to an aiortc peer."""
    text = candidate["candidate"]
    if not text:
        return
    c = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    c.sdpMid = candidate.get("sdpMid")
    c.sdpMLineIndex = candidate.get("sdpMLineIndex")
    await pc.addIceCandidate(c)


def make_endpoint(kurento, pipeline, events=("IceCandidateFound", "IceGatheringDone")):
    """Creates a WebRtcEndpoint in `pipeline` and subscribes to `events` on it."""
    w = kurento.result("create", {"type": "WebRtcEndpoint", "constructorParams": {"mediaPipeline": pipeline}})["value"]
    for event in events:
        kurento.result("subscribe", {"object": w, "type": event})
    return w


async def negotiate(kurento, endpoint, pc):
    """Kurento-style offer/answer with trickle ICE from the server."""
    await pc.setLocalDescription(await pc.createOffer())
    answer = await asyncio.to_thread(kurento.result, "invoke", {
        "object": endpoint, "operation": "processOffer", "operationParams": {"offer": pc.localDescription.sdp}})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["value"], type="answer"))
    await trickle_from_server(kurento, endpoint, pc)
    return answer["value"]


async def trickle_from_server(kurento, endpoint, pc):
    """gatherCandidates, then every IceCandidateFound to `pc` until IceGatheringDone."""
    await asyncio.to_thread(kurento.result, "invoke", {"object": endpoint, "operation": "gatherCandidates"})
    while True:
        event = await asyncio.to_thread(
            kurento.wait_event, None, 10, endpoint, ["IceCandidateFound", "IceGatheringDone"])
        value = event["params"]["value"]
        if value["type"] == "IceGatheringDone":
            break
        await add_remote_candidate(pc, value["data"]["candidate"])


async def receive_only(kurento, endpoint, kinds=("video", "audio")):
    """A receive-only aiortc peer on `endpoint` for `kinds` (m-lines in that
    order), recording what it decodes; returns (pc, recorder, answer)."""
    pc = peer_connection()
    rec = Recorder()
    pc.on("track", rec.attach)
    for kind in kinds:
        pc.addTransceiver(kind, direction="recvonly")
    answer = await negotiate(kurento, endpoint, pc)
    return pc, rec, answer


async def join_hub(kurento, pipeline, hub, colour, hz, noise=0):
    """A peer sending `colour` and a tone of `hz` into its own HubPort of `hub`
    and receiving that port's output; returns (endpoint, port, pc, recorder)."""
    w = make_endpoint(kurento, pipeline)
    port = kurento.result("create", {"type": "HubPort", "constructorParams": {"hub": hub}})["value"]
    kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": port}})
    kurento.result("invoke", {"object": port, "operation": "connect", "operationParams": {"sink": w}})
    pc = peer_connection()
    rec = Recorder()
    pc.on("track", rec.attach)
    pc.addTrack(ColourTrack(colour, noise=noise))
    pc.addTrack(ToneTrack(hz))
    await negotiate(kurento, w, pc)
    return w, port, pc, rec


async def negotiate_seeing_events(kurento, endpoint, pc):
    """`negotiate`, also returning the value of every event it consumed (the
    server's IceCandidateFound and IceGatheringDone, in order)."""
    seen = []
    original = kurento.wait_event

    def spy(*args, **kwargs):
        e = original(*args, **kwargs)
        seen.append(e["params"]["value"])
        return e
    kurento.wait_event = spy
    try:
        answer = await negotiate(kurento, endpoint, pc)
    finally:
        kurento.wait_event = original
    return answer, seen


async def wait_for(condition, timeout=10.0):
    """Polls `condition` until it holds or `timeout` passes; returns its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()


def wait_for_sync(check, timeout):
    """`wait_for` outside an event loop: polls `check` (a health request that
    fails to connect counts as not yet) until it holds or `timeout` passes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    try:
        return check()
    except OSError:
        return False
