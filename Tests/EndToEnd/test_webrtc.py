"""WebRtcEndpoint against an independent WebRTC stack (aiortc) on loopback:
what the peer sends must come back, decoded, with the same colour and tone."""
import asyncio

import pytest
from aiortc import RTCSessionDescription

from conftest import Client
from media import (ColourTrack, Recorder, ToneTrack, add_remote_candidate, centre_colour, colour_close,
                   dominant_frequency, peer_connection)


async def negotiate(kurento, endpoint, pc):
    """Kurento-style offer/answer with trickle ICE from the server."""
    await pc.setLocalDescription(await pc.createOffer())
    answer = await asyncio.to_thread(kurento.result, "invoke", {
        "object": endpoint, "operation": "processOffer", "operationParams": {"offer": pc.localDescription.sdp}})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["value"], type="answer"))
    await asyncio.to_thread(kurento.result, "invoke", {"object": endpoint, "operation": "gatherCandidates"})
    done = False
    while not done:
        event = await asyncio.to_thread(kurento.wait_event, "IceCandidateFound", 5)
        await add_remote_candidate(pc, event["params"]["value"]["data"]["candidate"])
        done = any(e["params"]["value"]["type"] == "IceGatheringDone" for e in kurento.events)
    return answer["value"]


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
        recorder.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))
