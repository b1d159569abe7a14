"""RtpEndpoint (plain RTP over UDP) against GStreamer (`gst-launch-1.0`
subprocesses) on loopback, bridged to a WebRtcEndpoint with an aiortc peer:
colour and tone must survive both directions. Plus bad input: garbage
datagrams, an offer without a usable codec, ports freed on release."""
import asyncio
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import numpy as np
import pytest

from conftest import Client
from media import (ColourTrack, ToneTrack, centre_colour, colour_close, dominant_frequency, make_endpoint, negotiate,
                   peer_connection, receive_only, wait_for)

GST = shutil.which("gst-launch-1.0")
pytestmark = pytest.mark.skipif(GST is None, reason="gst-launch-1.0 is not installed (make test installs it)")


def free_even_port():
    """An even port with the odd one above it free too (RTP + RTCP)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port % 2 or port >= 65534:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free even port")


def media_ports(sdp):
    """{'audio': (port, payload type), 'video': ...} from m= lines."""
    return {m[0]: (int(m[1]), int(m[2])) for m in re.findall(r"^m=(audio|video) (\d+) RTP/S?AVPF? (\d+)", sdp, re.M)}


def rtcp_ports(sdp):
    return [int(p) for p in re.findall(r"^a=rtcp:(\d+)", sdp, re.M)]


def plain_sdp(audio_port, video_port, direction, audio_pt=96, video_pt=97, proto="RTP/AVP", crypto=None):
    """The description a GStreamer peer would give: upper-case codec names,
    session-level c=, no a=rtcp (so RTCP is port + 1). `crypto`: an a=crypto
    value for both m-lines (SDES)."""
    keys = [f"a=crypto:{crypto}"] if crypto else []
    return "\r\n".join([
        "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=GStreamer peer", "c=IN IP4 127.0.0.1", "t=0 0",
        f"m=audio {audio_port} {proto} {audio_pt}", f"a=rtpmap:{audio_pt} OPUS/48000/2", f"a={direction}", *keys,
        f"m=video {video_port} {proto} {video_pt}", f"a=rtpmap:{video_pt} VP8/90000",
        f"a=rtcp-fb:{video_pt} nack pli", f"a={direction}", *keys, ""])


def gst(pipeline):
    return subprocess.Popen([GST, "-q", "-e", *pipeline.split()], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def argb(rgb):
    return "0xFF%02X%02X%02X" % rgb


def invoke(kurento, obj, operation, **params):
    return kurento.result("invoke", {"object": obj, "operation": operation, "operationParams": params})["value"]


GST_KEY = bytes(range(1, 31))  # what GStreamer's srtpenc protects with (AES-128 key + salt)
OUR_KEY = "tessera-sdes-key-30-chars-long"  # the RtpEndpoint's own key, as the kmd's plain-text `key`


async def gstreamer_into_webrtc(server, colour, hz, body, sdes=False):
    """GStreamer sends VP8 + Opus to an RtpEndpoint (the test writes the
    offer); the RtpEndpoint feeds a WebRtcEndpoint that aiortc views.
    `body(kurento, rtp_endpoint, answer, recorder)` runs while media flows.
    With `sdes`, GStreamer protects with SRTP (srtpenc) and the keys travel in
    the SDP (a=crypto, RTP/SAVP)."""
    kurento = Client(server.url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]
    params = {"mediaPipeline": p}
    if sdes:
        params["crypto"] = {"__module__": "kurento", "__type__": "SDES", "crypto": "AES_128_CM_HMAC_SHA1_80", "key": OUR_KEY}
    r = kurento.result("create", {"type": "RtpEndpoint", "constructorParams": params})["value"]
    for event in ["MediaSessionStarted", "MediaFlowInStateChanged", "ConnectionStateChanged"]:
        kurento.result("subscribe", {"object": r, "type": event})
    w = make_endpoint(kurento, p)
    invoke(kurento, r, "connect", sink=w)
    pc, recorder, _ = await receive_only(kurento, w, kinds=("audio", "video"))

    # Ports GStreamer would receive on (RTCP from us goes to port + 1).
    crypto = "7 AES_CM_128_HMAC_SHA1_80 inline:" + base64.b64encode(GST_KEY).decode() if sdes else None
    offer = plain_sdp(free_even_port(), free_even_port(), "sendonly", proto="RTP/SAVP" if sdes else "RTP/AVP", crypto=crypto)
    answer = invoke(kurento, r, "processOffer", offer=offer)
    ours = media_ports(answer)
    assert "a=recvonly" in answer and "ice-ufrag" not in answer and "fingerprint" not in answer, answer
    assert "c=IN IP4 127.0.0.1" in answer and ours["audio"][1] == 96 and ours["video"][1] == 97, answer
    assert rtcp_ports(answer) == [ours["audio"][0] + 1, ours["video"][0] + 1]
    protect = ""
    if sdes:
        # Our answer keeps the offer's tag and carries our own key.
        ours_line = "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" + base64.b64encode(OUR_KEY.encode()).decode()
        assert answer.count(ours_line) == 2 and answer.count("RTP/SAVP ") == 2, answer
        protect = (f"! srtpenc key={GST_KEY.hex()} rtp-cipher=aes-128-icm rtp-auth=hmac-sha1-80 "
                   f"rtcp-cipher=aes-128-icm rtcp-auth=hmac-sha1-80 ")
    sender = gst(
        f"videotestsrc is-live=true pattern=solid-color foreground-color={argb(colour)} "
        f"! video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 keyframe-max-dist=30 "
        f"! rtpvp8pay pt=97 {protect}! udpsink host=127.0.0.1 port={ours['video'][0]} "
        f"audiotestsrc is-live=true freq={hz} volume=0.3 ! audio/x-raw,rate=48000,channels=2 ! opusenc "
        f"! rtpopuspay pt=96 {protect}! udpsink host=127.0.0.1 port={ours['audio'][0]}")
    try:
        started = await asyncio.to_thread(kurento.wait_event, "MediaSessionStarted", 10, r)
        assert started["params"]["value"]["type"] == "MediaSessionStarted"
        assert await wait_for(lambda: recorder.video_frames >= 30 and len(recorder.audio) >= 48000, 20), \
            f"frames {recorder.video_frames}, audio {len(recorder.audio)}; gst: {sender.poll()}"
        print("frames", recorder.video_frames, "colour", centre_colour(recorder.last_rgb), "tone", dominant_frequency(recorder.audio))
        assert colour_close(centre_colour(recorder.last_rgb), colour), centre_colour(recorder.last_rgb)
        assert abs(dominant_frequency(recorder.audio) - hz) < 10
        assert invoke(kurento, r, "isMediaFlowingIn", mediaType="VIDEO") is True
        assert invoke(kurento, r, "getConnectionState") == "CONNECTED"
        stats = invoke(kurento, r, "getStats", mediaType="VIDEO")
        inbound = [s for s in stats.values() if s["__type__"] == "RTCInboundRTPStreamStats"]
        assert inbound and inbound[0]["packetsReceived"] > 20, stats
        await body(kurento, r, answer, recorder)
    finally:
        stop(sender)
        recorder.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()


def test_gstreamer_sender_through_rtp_endpoint_to_webrtc_viewer(server):
    async def nothing(kurento, r, answer, recorder):
        assert invoke(kurento, r, "getRemoteSessionDescriptor").startswith("v=0")
    asyncio.run(asyncio.wait_for(gstreamer_into_webrtc(server, (200, 30, 40), 660, nothing), 90))


def test_sdes_srtp_from_gstreamer_through_rtp_endpoint_to_webrtc_viewer(server):
    """RtpEndpoint with `crypto` (SDES): GStreamer's srtpenc protects, the keys go
    both ways in a=crypto, and the viewer decodes the colour and tone. Plain
    datagrams with the right ports and payload types are not taken."""
    async def plain_intruder(kurento, r, answer, recorder):
        ours = media_ports(answer)
        stats = invoke(kurento, r, "getStats", mediaType="VIDEO")
        before = [s for s in stats.values() if s["__type__"] == "RTCInboundRTPStreamStats"][0]["packetsReceived"]
        intruder = gst(
            f"videotestsrc is-live=true num-buffers=60 pattern=solid-color foreground-color=0xFF00FF00 "
            f"! video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 "
            f"! rtpvp8pay pt=97 ! udpsink host=127.0.0.1 port={ours['video'][0]}")
        await asyncio.to_thread(intruder.wait, 20)
        await asyncio.sleep(0.5)
        assert colour_close(centre_colour(recorder.last_rgb), (200, 30, 40)), "unauthenticated video got through"
        stats = invoke(kurento, r, "getStats", mediaType="VIDEO")
        after = [s for s in stats.values() if s["__type__"] == "RTCInboundRTPStreamStats"][0]["packetsReceived"]
        assert after > before
    asyncio.run(asyncio.wait_for(gstreamer_into_webrtc(server, (200, 30, 40), 660, plain_intruder, sdes=True), 90))


def test_garbage_datagrams_do_not_disturb_the_stream(server):
    """Random bytes, RTP-looking packets with the right payload type but a
    stranger's SSRC, and bogus RTCP, from another socket, at both ports of
    both m-lines while GStreamer's media flows: the viewer keeps getting the
    right colour and tone, and the server keeps answering."""
    async def garbage(kurento, r, answer, recorder):
        ports = [p for p, _ in media_ports(answer).values()]
        targets = ports + [p + 1 for p in ports]
        rng = np.random.default_rng(7)
        frames_before = recorder.video_frames
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(1500):
                kind = i % 3
                if kind == 0:
                    data = rng.integers(0, 256, int(rng.integers(1, 1400)), dtype=np.uint8).tobytes()
                elif kind == 1:  # RTP header, VP8/opus payload type, random SSRC and body
                    data = bytes([0x80, 0x60 | int(rng.integers(0, 2)), *rng.integers(0, 256, 10, dtype=np.uint8)]) \
                        + rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
                else:  # RTCP-looking: SR/RR/PSFB types with nonsense lengths
                    data = bytes([0x81, int(rng.choice([200, 201, 206])), 0xFF, 0xFF]) + rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
                s.sendto(data, ("127.0.0.1", targets[i % len(targets)]))
                if i % 100 == 0:
                    await asyncio.sleep(0.05)
        assert server.proc.poll() is None
        assert await wait_for(lambda: recorder.video_frames >= frames_before + 45, 10), (frames_before, recorder.video_frames)
        await asyncio.sleep(1.5)
        assert colour_close(centre_colour(recorder.last_rgb), (30, 160, 220)), centre_colour(recorder.last_rgb)
        assert abs(dominant_frequency(recorder.audio) - 440) < 10
        assert invoke(kurento, r, "getConnectionState") == "CONNECTED"
    asyncio.run(asyncio.wait_for(gstreamer_into_webrtc(server, (30, 160, 220), 440, garbage), 90))


def test_webrtc_publisher_through_rtp_endpoint_to_gstreamer_receiver(server):
    """aiortc publishes into a WebRtcEndpoint connected to an RtpEndpoint
    that makes the offer; GStreamer receives, decodes to raw files, and the
    test checks the colour and the tone."""
    webrtc_through_rtp_endpoint_to_gstreamer(server, sdes=False)


def test_sdes_srtp_from_rtp_endpoint_to_gstreamer_receiver(server):
    """The same with SDES: our offer carries our key, GStreamer's srtpdec
    unprotects with it."""
    webrtc_through_rtp_endpoint_to_gstreamer(server, sdes=True)


def webrtc_through_rtp_endpoint_to_gstreamer(server, sdes):
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p)
        params = {"mediaPipeline": p}
        if sdes:
            params["crypto"] = {"__module__": "kurento", "__type__": "SDES", "key": OUR_KEY}
        r = kurento.result("create", {"type": "RtpEndpoint", "constructorParams": params})["value"]
        kurento.result("subscribe", {"object": r, "type": "MediaFlowOutStateChanged"})
        invoke(kurento, w, "connect", sink=r)
        pc = peer_connection()
        pc.addTrack(ColourTrack((40, 200, 60)))
        pc.addTrack(ToneTrack(880))
        await negotiate(kurento, w, pc)

        offer = invoke(kurento, r, "generateOffer")
        ours = media_ports(offer)
        assert ("RTP/SAVPF" if sdes else "RTP/AVPF") in offer and "ice-" not in offer and "a=sendrecv" in offer, offer
        srtp = ""
        if sdes:
            assert offer.count("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.b64encode(OUR_KEY.encode()).decode()) == 2, offer
            srtp = (f",srtp-key=(buffer){OUR_KEY.encode().hex()},srtp-cipher=(string)aes-128-icm,srtp-auth=(string)hmac-sha1-80,"
                    f"srtcp-cipher=(string)aes-128-icm,srtcp-auth=(string)hmac-sha1-80")
        assert rtcp_ports(offer) == [ours["audio"][0] + 1, ours["video"][0] + 1]
        audio_port, video_port = free_even_port(), free_even_port()
        tmp = tempfile.mkdtemp(prefix="tessera-rtp-")
        video_file, audio_file = os.path.join(tmp, "v.rgb"), os.path.join(tmp, "a.raw")
        caps, unprotect = ("application/x-srtp", "! srtpdec ") if sdes else ("application/x-rtp", "")
        # srtpdec takes keys from caps per SSRC: ours are in the offer's a=ssrc lines, audio first.
        ssrcs = re.findall(r"^a=ssrc:(\d+) cname", offer, re.M)
        srtp_caps = {kind: f",ssrc=(uint){ssrc}{srtp}" if sdes else "" for kind, ssrc in zip(["audio", "video"], ssrcs)}
        receiver = gst(
            f"udpsrc address=127.0.0.1 port={video_port} "
            f"caps={caps},media=video,clock-rate=90000,encoding-name=VP8,payload={ours['video'][1]}{srtp_caps['video']} {unprotect}"
            f"! rtpjitterbuffer latency=100 ! rtpvp8depay wait-for-keyframe=true ! vp8dec max-errors=-1 ! videoconvert ! videoscale "
            f"! video/x-raw,format=RGB,width=64,height=48 ! filesink location={video_file} "
            f"udpsrc address=127.0.0.1 port={audio_port} "
            f"caps={caps},media=audio,clock-rate=48000,encoding-name=OPUS,payload={ours['audio'][1]}{srtp_caps['audio']} {unprotect}"
            f"! rtpjitterbuffer latency=100 ! rtpopusdepay ! opusdec ! audioconvert ! audioresample "
            f"! audio/x-raw,format=S16LE,channels=1,rate=48000 ! filesink location={audio_file}")
        try:
            await asyncio.sleep(1.0)  # udpsrc bound before the first keyframe arrives
            answer = plain_sdp(audio_port, video_port, "recvonly", audio_pt=ours["audio"][1], video_pt=ours["video"][1],
                               proto="RTP/SAVPF" if sdes else "RTP/AVP",
                               crypto="1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.b64encode(GST_KEY).decode() if sdes else None)
            assert invoke(kurento, r, "processAnswer", answer=answer) == offer
            flow = await asyncio.to_thread(kurento.wait_event, "MediaFlowOutStateChanged", 10, r)
            assert flow["params"]["value"]["data"]["state"] == "FLOWING"
            frame = 64 * 48 * 3
            size = lambda path: os.path.getsize(path) if os.path.exists(path) else 0
            ok = await wait_for(lambda: size(video_file) >= 40 * frame and size(audio_file) >= 2 * 48000 * 2, 20)
            if not ok:
                invoke(kurento, w, "requestKeyframe")
            assert ok or await wait_for(lambda: size(video_file) >= 40 * frame and size(audio_file) >= 2 * 48000 * 2, 10), \
                f"video {size(video_file)} audio {size(audio_file)} gst {receiver.poll()}"
            stats = invoke(kurento, r, "getStats", mediaType="AUDIO")
            outbound = [s for s in stats.values() if s["__type__"] == "RTCOutboundRTPStreamStats"]
            assert outbound and outbound[0]["packetsSent"] > 50, stats
        finally:
            stop(receiver)
            await pc.close()
            kurento.result("release", {"object": p})
            kurento.close()
        raw = np.fromfile(video_file, dtype=np.uint8)
        frames = raw[: len(raw) // frame * frame].reshape(-1, 48, 64, 3)
        print("frames", len(frames), "colour", centre_colour(frames[-1]))
        assert colour_close(centre_colour(frames[-1]), (40, 200, 60)), centre_colour(frames[-1])
        samples = np.fromfile(audio_file, dtype="<i2").astype(np.float64)
        print("tone", dominant_frequency(samples))
        assert abs(dominant_frequency(samples) - 880) < 10
        shutil.rmtree(tmp, ignore_errors=True)

    asyncio.run(asyncio.wait_for(run(), 90))


def test_offer_without_usable_codec_is_refused(client):
    p = client.result("create", {"type": "MediaPipeline"})["value"]
    r = client.result("create", {"type": "RtpEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
    offer = "\r\n".join(["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                         "m=audio 5002 RTP/AVP 0", "m=video 5004 RTP/AVP 26", ""])
    error = client.error("invoke", {"object": r, "operation": "processOffer", "operationParams": {"offer": offer}})
    assert error["code"] == 40205 and "no common codec" in error["message"], error
    # Nothing was negotiated, so a good offer is still accepted afterwards.
    answer = client.result("invoke", {"object": r, "operation": "processOffer",
                                      "operationParams": {"offer": plain_sdp(free_even_port(), free_even_port(), "sendrecv")}})["value"]
    assert len(media_ports(answer)) == 2
    error = client.error("invoke", {"object": r, "operation": "processOffer", "operationParams": {"offer": offer}})
    assert error["code"] == 40208
    error = client.error("invoke", {"object": r, "operation": "processOffer", "operationParams": {"offer": "garbage"}})
    assert error["code"] in (40201, 40208)
    client.result("release", {"object": p})


def test_bad_sdes_params_and_mismatched_offers_are_refused(client):
    p = client.result("create", {"type": "MediaPipeline"})["value"]

    def create(crypto):
        return client.request("create", {"type": "RtpEndpoint", "constructorParams": {"mediaPipeline": p, "crypto": crypto}})
    sdes = {"__module__": "kurento", "__type__": "SDES"}
    e = create({**sdes, "crypto": "AES_128_CM_HMAC_SHA1_80", "keyBase64": "x" * 20})["error"]
    assert e["data"]["type"] == "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR" and "30 bytes" in e["message"], e
    e = create({**sdes, "crypto": "ROT13"})["error"]
    assert e["data"]["type"] == "MARSHALL_ERROR" and "CryptoSuite" in e["message"], e  # the kmd enum
    e = create({**sdes, "key": "short"})["error"]
    assert "30 bytes" in e["message"], e
    # A random key when none is given; an AES-256 suite offers a 46-byte key.
    r = create({**sdes, "crypto": "AES_256_CM_HMAC_SHA1_32"})["result"]["value"]
    offer = invoke(client, r, "generateOffer")
    lines = re.findall(r"^a=crypto:1 AES_256_CM_HMAC_SHA1_32 inline:(\S+)", offer, re.M)
    assert len(lines) == 2 and len(base64.b64decode(lines[0])) == 46 and "RTP/SAVPF" in offer, offer
    # An encrypting endpoint refuses a plain offer, a plain one refuses SAVP, and a suite mismatch is named.
    r2 = create({**sdes, "key": OUR_KEY})["result"]["value"]
    e = client.error("invoke", {"object": r2, "operation": "processOffer",
                                "operationParams": {"offer": plain_sdp(free_even_port(), free_even_port(), "sendrecv")}})
    assert e["code"] == 40205 and "must use RTP/SAVP" in e["message"], e
    other_suite = "1 AES_CM_128_HMAC_SHA1_32 inline:" + base64.b64encode(GST_KEY).decode()
    e = client.error("invoke", {"object": r2, "operation": "processOffer", "operationParams": {
        "offer": plain_sdp(free_even_port(), free_even_port(), "sendrecv", proto="RTP/SAVP", crypto=other_suite)}})
    assert "AES_CM_128_HMAC_SHA1_80" in e["message"] and "AES_CM_128_HMAC_SHA1_32" in e["message"], e
    plain = client.result("create", {"type": "RtpEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
    e = client.error("invoke", {"object": plain, "operation": "processOffer", "operationParams": {
        "offer": plain_sdp(free_even_port(), free_even_port(), "sendrecv", proto="RTP/SAVP", crypto=other_suite)}})
    assert "create the RtpEndpoint with 'crypto'" in e["message"], e
    client.result("release", {"object": p})


def test_unsupported_constructor_params_are_refused(client):
    p = client.result("create", {"type": "MediaPipeline"})["value"]
    error = client.error("create", {"type": "RtpEndpoint", "constructorParams": {"mediaPipeline": p, "useIpv6": True}})
    assert error["code"] == 40006 and "useIpv6" in error["message"], error
    client.result("release", {"object": p})


def test_release_closes_the_sockets(client):
    p = client.result("create", {"type": "MediaPipeline"})["value"]
    r = client.result("create", {"type": "RtpEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
    offer = client.result("invoke", {"object": r, "operation": "generateOffer"})["value"]
    ports = [port for port, _ in media_ports(offer).values()]
    ports += rtcp_ports(offer)
    assert len(ports) == 4 and all(0 < port for port in ports)

    def bindable(port):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    assert not any(bindable(port) for port in ports), "the endpoint's ports should be in use"
    client.result("release", {"object": r})
    deadline = time.time() + 5
    while time.time() < deadline and not all(bindable(port) for port in ports):
        time.sleep(0.1)
    assert all(bindable(port) for port in ports), [port for port in ports if not bindable(port)]
    client.result("release", {"object": p})
