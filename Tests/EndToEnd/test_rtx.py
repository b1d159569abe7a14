"""RTX sending (RFC 4588): a viewer that negotiated rtx gets its NACKed
packets back as RTX packets on the RTX SSRC our answer announces. Loss is
induced inside the viewer (aiortc): 10 % of the media packets of our video
SSRC (solid-colour video makes few packets, so 5 % would lose too few in a
few seconds) are dropped before its RTP stack sees them, so it NACKs them."""
import asyncio
import random
import re

from aiortc import RTCRtpReceiver

from conftest import Client
from media import (ColourTrack, centre_colour, colour_close, make_endpoint, negotiate, peer_connection, receive_only,
                   wait_for)


def test_nacks_are_answered_with_rtx(server):
    state = {"media": None, "rtx": None, "dropped": set(), "recovered": set(), "rtx_packets": 0}
    rng = random.Random(4588)
    original = RTCRtpReceiver._handle_rtp_packet

    async def lossy(self, packet, arrival_time_ms):
        if packet.ssrc == state["media"] and rng.random() < 0.10:
            state["dropped"].add(packet.sequence_number)
            return
        if packet.ssrc == state["rtx"] and len(packet.payload) >= 2:
            state["rtx_packets"] += 1
            state["recovered"].add(int.from_bytes(packet.payload[:2], "big"))
        await original(self, packet, arrival_time_ms)

    RTCRtpReceiver._handle_rtp_packet = lossy
    try:
        async def run():
            kurento = Client(server.url)
            p = kurento.result("create", {"type": "MediaPipeline"})["value"]
            pub = make_endpoint(kurento, p)
            view = make_endpoint(kurento, p)
            kurento.result("invoke", {"object": pub, "operation": "connect", "operationParams": {"sink": view}})
            a = peer_connection()
            a.addTrack(ColourTrack((180, 60, 20)))
            await negotiate(kurento, pub, a)
            b, rec, answer = await receive_only(kurento, view, kinds=("video",))
            assert "rtx/90000" in answer  # aiortc offers rtx and we accept it
            fid = re.search(r"a=ssrc-group:FID (\d+) (\d+)", answer)
            assert fid, answer
            state["media"], state["rtx"] = int(fid.group(1)), int(fid.group(2))
            assert await wait_for(lambda: rec.video_frames >= 20, 15), rec.video_frames
            start = rec.video_frames
            await asyncio.sleep(6)
            # Frames keep decoding through the loss (30 fps for 6 s).
            assert rec.video_frames - start >= 120, rec.video_frames - start
            assert colour_close(centre_colour(rec.last_rgb), (180, 60, 20))
            assert len(state["dropped"]) >= 8, state["dropped"]
            assert state["rtx_packets"] > 0
            recovered = state["dropped"] & state["recovered"]
            assert len(recovered) >= 0.8 * len(state["dropped"]), (sorted(state["dropped"]), sorted(state["recovered"]))
            stats = kurento.result("invoke", {"object": view, "operation": "getStats", "operationParams": {"mediaType": "VIDEO"}})["value"]
            out = [s for s in stats.values() if s["__type__"] == "RTCOutboundRTPStreamStats"][0]
            assert out["nackCount"] >= len(recovered), out
            assert out["rtxPacketsSent"] >= len(recovered) and out["retransmittedPacketsSent"] == out["rtxPacketsSent"], out
            rec.stop()
            await a.close()
            await b.close()
            kurento.result("release", {"object": p})
            kurento.close()

        asyncio.run(asyncio.wait_for(run(), 60))
    finally:
        RTCRtpReceiver._handle_rtp_packet = original
