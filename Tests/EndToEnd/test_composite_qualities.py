"""A composite in several qualities (mixer.qualities, a Tessera extension):
the grid is composed once and encoded at 1280x720, 640x360 and 320x180, and
each viewer of a HubPort gets the quality its bandwidth allows. Two aiortc
participants send red and green; two receive-only viewers watch the grid, one
of them capped at 300 kbit/s (maxVideoSendBandwidth): it must decode the
320x180 stream, the other the 1280x720 one, both showing both colours; when
the cap is lifted the capped viewer climbs to the top quality without a new
negotiation."""
import asyncio

from conftest import Client, Server
from media import colour_present, join_hub, make_endpoint, receive_only, wait_for


def width(recorder):
    return recorder.last_rgb.shape[1] if recorder.last_rgb is not None else 0


def test_viewers_get_the_composite_quality_their_bandwidth_allows():
    server = Server(env_overrides={"TESSERA_MIXER_QUALITIES": "640x360@500,320x180@150", "TESSERA_LOG_LEVEL": "debug"})
    try:
        async def run():
            kurento = Client(server.url)
            p = kurento.result("create", {"type": "MediaPipeline"})["value"]
            hub = kurento.result("create", {"type": "Composite", "constructorParams": {"mediaPipeline": p}})["value"]
            # Noisy pictures: the composite's encoders then run at their bitrates (1500, 500, 150 kbit/s).
            senders = [await join_hub(kurento, p, hub, colour, hz, noise=40) for colour, hz in [((220, 40, 40), 440), ((40, 200, 60), 660)]]
            viewers = []
            for capped in (False, True):
                w = make_endpoint(kurento, p)
                if capped:
                    kurento.result("invoke", {"object": w, "operation": "setMaxVideoSendBandwidth", "operationParams": {"maxVideoSendBandwidth": 300}})
                port = kurento.result("create", {"type": "HubPort", "constructorParams": {"hub": hub}})["value"]
                kurento.result("invoke", {"object": port, "operation": "connect", "operationParams": {"sink": w, "mediaType": "VIDEO"}})
                pc, rec, _ = await receive_only(kurento, w, kinds=("video",))
                viewers.append((w, pc, rec))
            (free_w, _, free), (capped_w, _, capped) = viewers
            # The free viewer's estimate climbs from 300 kbit/s to the top quality in a few seconds.
            assert await wait_for(lambda: width(free) == 1280 and width(capped) == 320, 25), (width(free), width(capped))
            await asyncio.sleep(2)
            # Qualities are chosen by what they cost now (docs/mixer.md): on a busy machine the
            # inputs slow down, the middle quality can drop under the cap for a while, and the capped
            # viewer may take it. Never the top one.
            assert width(free) == 1280 and width(capped) in (320, 640), (width(free), width(capped))
            for rec in (free, capped):
                for colour in ((220, 40, 40), (40, 200, 60)):
                    assert colour_present(rec.last_rgb, colour), (colour, rec.last_rgb.shape)
            # Not frozen: frames keep coming (the bound leaves room for a busy machine, where aiortc's
            # Python decoding of the free viewer's 720p falls behind; one run decoded 8 in a second).
            frames = capped.video_frames
            await asyncio.sleep(2)
            assert capped.video_frames > frames + 10, "the capped viewer keeps decoding"
            # Lifted: up one quality at a time to the top, on the same PeerConnection.
            kurento.result("invoke", {"object": capped_w, "operation": "setMaxVideoSendBandwidth", "operationParams": {"maxVideoSendBandwidth": 0}})
            assert await wait_for(lambda: width(capped) == 1280, 30), width(capped)
            stats = kurento.result("invoke", {"object": capped_w, "operation": "getStats", "operationParams": {"mediaType": "VIDEO"}})["value"]
            out = [s for s in stats.values() if s["__type__"] == "RTCOutboundRTPStreamStats"][0]
            print("capped viewer after the lift:", {k: out[k] for k in ("layerSwitches", "targetBitrate", "packetsSent")})
            assert out["layerSwitches"] >= 2, out
            for _, pc, rec in viewers:
                rec.stop()
                await pc.close()
            for _, _, pc, rec in senders:
                rec.stop()
                await pc.close()
            kurento.result("release", {"object": p})
            kurento.close()
        asyncio.run(run())
    finally:
        print("\n".join(line[:250] for line in server.log_text().splitlines() if "simulcast layer" in line or "quality" in line)[-4000:])
        server.stop()
