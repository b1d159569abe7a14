"""WebRtcEndpoint against an independent WebRTC stack (aiortc) on loopback:
what the peer sends must come back, decoded, with the same colour and tone."""
import asyncio

from aiortc import RTCSessionDescription

from conftest import Client
from media import (ColourTrack, trickle_from_server, Recorder, ToneTrack, add_remote_candidate, centre_colour, colour_close,
                   dominant_frequency, make_endpoint, negotiate, peer_connection, receive_only, tone_level, wait_for)


def test_webrtc_loopback_echoes_colour_and_tone(server):
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = kurento.result("create", {"type": "WebRtcEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
        for event in ["IceCandidateFound", "IceGatheringDone", "MediaFlowInStateChanged", "MediaFlowOutStateChanged"]:
            kurento.result("subscribe", {"object": w, "type": event})
        kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})

        pc = peer_connection()
        recorder = Recorder()
        pc.on("track", recorder.attach)
        pc.addTrack(ColourTrack((200, 30, 40)))
        pc.addTrack(ToneTrack(660))
        answer = await negotiate(kurento, w, pc)
        assert "a=fingerprint:sha-256" in answer
        assert "VP8/90000" in answer and "opus/48000/2" in answer.lower()

        for _ in range(100):
            if recorder.video_frames >= 60 and len(recorder.audio) >= 48000:
                break
            await asyncio.sleep(0.1)
        print("frames", recorder.video_frames, "colour", centre_colour(recorder.last_rgb), "tone", dominant_frequency(recorder.audio), "ice", pc.iceConnectionState)
        assert pc.iceConnectionState in ("completed", "connected")
        assert recorder.video_frames >= 60, f"only {recorder.video_frames} frames came back"
        assert colour_close(centre_colour(recorder.last_rgb), (200, 30, 40)), centre_colour(recorder.last_rgb)
        assert abs(dominant_frequency(recorder.audio) - 660) < 10
        flowing = kurento.result("invoke", {"object": w, "operation": "isMediaFlowingIn", "operationParams": {"mediaType": "VIDEO"}})
        assert flowing["value"] is True
        # RTCP from the peer arrives (aiortc sends reports every second or so)
        assert await wait_for(lambda: kurento.result("invoke", {"object": w, "operation": "getMediaState"})["value"] == "CONNECTED", 5)
        assert kurento.result("invoke", {"object": w, "operation": "getConnectionState"})["value"] == "CONNECTED"
        dtls = kurento.result("invoke", {"object": w, "operation": "getDtlsConnectionState"})["value"]
        assert dtls and dtls[0]["state"] == "CONNECTED" and dtls[0]["__type__"] == "DtlsConnection"
        ice = kurento.result("invoke", {"object": w, "operation": "getIceConnectionState"})["value"]
        assert ice and ice[0]["state"] in ("CONNECTED", "READY")
        pairs = kurento.result("invoke", {"object": w, "operation": "getICECandidatePairs"})["value"]
        assert pairs and "127.0.0.1" in pairs[0]["localCandidate"]
        # the peer receives our sender reports: aiortc's stats show the remote (our) outbound side
        stats = await pc.getStats()
        remote_out = [s for s in stats.values() if s.type == "remote-outbound-rtp"]
        assert remote_out, "no sender report from the server reached the peer"
        stats = kurento.result("invoke", {"object": w, "operation": "getStats", "operationParams": {"mediaType": "VIDEO"}})["value"]
        inbound = [s for s in stats.values() if s["__type__"] == "RTCInboundRTPStreamStats"]
        outbound = [s for s in stats.values() if s["__type__"] == "RTCOutboundRTPStreamStats"]
        assert inbound and inbound[0]["packetsReceived"] > 50 and inbound[0]["bytesReceived"] > 2000, stats
        assert outbound and outbound[0]["packetsSent"] > 50, stats
        # aiortc estimates bandwidth from abs-send-time, so its REMB shows the extension was forwarded
        assert await wait_for(lambda: [s for s in kurento.result("invoke", {"object": w, "operation": "getStats", "operationParams": {"mediaType": "VIDEO"}})["value"].values() if s["__type__"] == "RTCOutboundRTPStreamStats"][0]["remb"] > 0, 5)
        # DATA: the endpoint's own register and its data channels (none here), no RTP streams.
        data = kurento.result("invoke", {"object": w, "operation": "getStats", "operationParams": {"mediaType": "DATA"}})["value"]
        assert [s["__type__"] for s in data.values()] == ["EndpointStats"], data
        recorder.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def test_one_publisher_two_viewers_then_source_switch(server):
    """DispatcherOneToMany: two publishers (red + 500 Hz, blue + 900 Hz), two
    viewers. Viewers first get publisher A; after setSource(B) they get B,
    and A's colour and tone are gone."""
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        hub = kurento.result("create", {"type": "DispatcherOneToMany", "constructorParams": {"mediaPipeline": p}})["value"]
        port = lambda: kurento.result("create", {"type": "HubPort", "constructorParams": {"hub": hub}})["value"]
        senders = {}
        for name, colour, hz in [("A", (220, 20, 20), 500), ("B", (20, 20, 220), 900)]:
            w = make_endpoint(kurento, p)
            hp = port()
            kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": hp}})
            pc = peer_connection()
            pc.addTrack(ColourTrack(colour))
            pc.addTrack(ToneTrack(hz))
            await negotiate(kurento, w, pc)
            senders[name] = (w, hp, pc)
        kurento.result("invoke", {"object": hub, "operation": "setSource", "operationParams": {"source": senders["A"][1]}})
        viewers = []
        for _ in range(2):
            w = make_endpoint(kurento, p)
            hp = port()
            kurento.result("invoke", {"object": hp, "operation": "connect", "operationParams": {"sink": w}})
            pc, rec, _ = await receive_only(kurento, w)
            viewers.append((w, pc, rec))

        for _, _, rec in viewers:
            assert await wait_for(lambda: rec.video_frames >= 30 and len(rec.audio) >= 48000, 15), rec.video_frames
            assert colour_close(centre_colour(rec.last_rgb), (220, 20, 20)), centre_colour(rec.last_rgb)
            assert abs(dominant_frequency(rec.audio) - 500) < 10

        kurento.result("invoke", {"object": hub, "operation": "setSource", "operationParams": {"source": senders["B"][1]}})
        switched_at = asyncio.get_event_loop().time()
        for _, _, rec in viewers:
            assert await wait_for(lambda: rec.last_rgb is not None and colour_close(centre_colour(rec.last_rgb), (20, 20, 220)), 5)
        switch_time = asyncio.get_event_loop().time() - switched_at
        print(f"viewers saw the new source after {switch_time:.2f} s")
        await asyncio.sleep(1.5)  # let a full second of the new audio arrive
        for _, _, rec in viewers:
            assert abs(dominant_frequency(rec.audio) - 900) < 10
            assert tone_level(rec.audio[-24000:], 500) < 0.1  # A's tone is gone
        # How fast the switch is seen is a benchmark figure (printed), not a pass/fail criterion.

        for _, pc, rec in viewers:
            rec.stop()
            await pc.close()
        for _, _, pc in senders.values():
            await pc.close()
        kurento.result("release", {"object": p})
        assert server.health()["objects"] == 0
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 90))


def test_bad_sdp_and_garbage_media(server):
    """An SDP with no usable codec and a malformed SDP get SDP errors; garbage
    datagrams on the media port do not disturb a working session."""
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p)
        e = kurento.error("invoke", {"object": w, "operation": "processOffer", "operationParams": {"offer": "garbage"}})
        assert e["code"] == 40201 and e["data"]["type"] == "SDP_PARSE_ERROR"
        h264_only = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
                     "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtcp-mux\r\n"
                     "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                     "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\n"
                     "a=rtpmap:102 H264/90000\r\na=sendrecv\r\n")
        e = kurento.error("invoke", {"object": w, "operation": "processOffer", "operationParams": {"offer": h264_only}})
        assert e["code"] in (40205, 40201), e
        assert "codec" in e["message"].lower() or "media" in e["message"].lower(), e["message"]

        # a working loopback, then garbage at its media port
        w2 = make_endpoint(kurento, p)
        kurento.result("invoke", {"object": w2, "operation": "connect", "operationParams": {"sink": w2}})
        pc = peer_connection()
        rec = Recorder()
        pc.on("track", rec.attach)
        pc.addTrack(ColourTrack((30, 200, 30)))
        await negotiate(kurento, w2, pc)
        assert await wait_for(lambda: rec.video_frames >= 10, 10)
        import socket
        # the server's media port is in the candidates it sent
        ports = {int(ev["params"]["value"]["data"]["candidate"]["candidate"].split()[5]) for ev in kurento.events
                 if ev["params"]["value"]["type"] == "IceCandidateFound"}
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for port in ports or {9}:
            for junk in [b"", b"\x00", b"\x80" * 3, b"\x80\x60" + b"\xff" * 40, b"\x16\xfe\xfd" + b"\x00" * 20, bytes(range(256)) * 4]:
                s.sendto(junk, ("127.0.0.1", port))
        before = rec.video_frames
        await asyncio.sleep(1.0)
        assert rec.video_frames > before + 10  # media keeps flowing
        assert colour_close(centre_colour(rec.last_rgb), (30, 200, 30))
        rec.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def test_peer_closing_ends_the_media_session(server):
    """When the peer closes its PeerConnection (DTLS close_notify), the endpoint
    reports MediaSessionTerminated after MediaSessionStarted."""
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p, events=("IceCandidateFound", "IceGatheringDone", "MediaSessionStarted", "MediaSessionTerminated"))
        kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
        pc = peer_connection()
        pc.addTrack(ColourTrack((50, 50, 50)))
        await negotiate(kurento, w, pc)
        await asyncio.to_thread(kurento.wait_event, "MediaSessionStarted", 10, w)
        # Our side is up once it sent its last handshake flight; the peer sends
        # close_notify only once it has that flight too (a loaded CI machine
        # once closed the peer before that, and no close_notify went out).
        assert await wait_for(lambda: pc.connectionState == "connected", 10), pc.connectionState
        await pc.close()
        await asyncio.to_thread(kurento.wait_event, "MediaSessionTerminated", 10, w)
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def test_server_offers_and_peer_answers(server):
    """generateOffer / processAnswer: the server is the offerer (ICE
    controlling, DTLS actpass), aiortc answers; media loops back."""
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p)
        kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
        offer = kurento.result("invoke", {"object": w, "operation": "generateOffer"})["value"]
        assert "a=setup:actpass" in offer and "a=group:BUNDLE" in offer
        assert kurento.error("invoke", {"object": w, "operation": "generateOffer"})["code"] == 40208
        pc = peer_connection()
        rec = Recorder()
        pc.on("track", rec.attach)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        # attach our media to the transceivers the offer created
        for t in pc.getTransceivers():
            t.direction = "sendrecv"
            t.sender.replaceTrack(ColourTrack((10, 180, 180)) if t.kind == "video" else ToneTrack(770))
        await pc.setLocalDescription(await pc.createAnswer())
        local = await asyncio.to_thread(kurento.result, "invoke", {
            "object": w, "operation": "processAnswer", "operationParams": {"answer": pc.localDescription.sdp}})
        assert local["value"] == offer
        await trickle_from_server(kurento, w, pc)
        assert await wait_for(lambda: rec.video_frames >= 30 and len(rec.audio) >= 48000, 15), rec.video_frames
        assert colour_close(centre_colour(rec.last_rgb), (10, 180, 180)), centre_colour(rec.last_rgb)
        assert abs(dominant_frequency(rec.audio) - 770) < 10
        assert kurento.result("invoke", {"object": w, "operation": "getRemoteSessionDescriptor"})["value"] == pc.localDescription.sdp
        rec.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def test_dtls_fingerprint_mismatch_fails_without_media(server):
    """An offer whose fingerprints do not match the peer's certificate: the
    handshake is refused, an Error event says so, and no media flows."""
    import re as _re

    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p, events=("IceCandidateFound", "IceGatheringDone", "DtlsConnectionStateChange", "Error"))
        kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
        pc = peer_connection()
        rec = Recorder()
        pc.on("track", rec.attach)
        pc.addTrack(ColourTrack((90, 90, 90)))
        await pc.setLocalDescription(await pc.createOffer())
        forged = _re.sub(r"a=fingerprint:(\S+) [0-9A-Fa-f:]+", lambda m: f"a=fingerprint:{m.group(1)} " + ":".join(
            ["AA"] * {"sha-256": 32, "sha-384": 48, "sha-512": 64}.get(m.group(1).lower(), 32)), pc.localDescription.sdp)
        answer = await asyncio.to_thread(kurento.result, "invoke", {
            "object": w, "operation": "processOffer", "operationParams": {"offer": forged}})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["value"], type="answer"))
        await asyncio.to_thread(kurento.result, "invoke", {"object": w, "operation": "gatherCandidates"})
        while True:
            e = await asyncio.to_thread(kurento.wait_event, None, 10, w, ["IceCandidateFound", "IceGatheringDone"])
            v = e["params"]["value"]
            if v["type"] == "IceGatheringDone":
                break
            await add_remote_candidate(pc, v["data"]["candidate"])
        failed = await asyncio.to_thread(kurento.wait_event, "DtlsConnectionStateChange", 15, w)
        while failed["params"]["value"]["data"]["state"] != "FAILED":
            failed = await asyncio.to_thread(kurento.wait_event, "DtlsConnectionStateChange", 15, w)
        error = await asyncio.to_thread(kurento.wait_event, "Error", 5, w)
        assert "fingerprint" in error["params"]["value"]["data"]["description"]
        await asyncio.sleep(1)
        assert rec.video_frames == 0
        assert kurento.result("invoke", {"object": w, "operation": "isMediaFlowingIn", "operationParams": {"mediaType": "VIDEO"}})["value"] is False
        rec.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))
