"""The link a cascaded room is made of (docs/cluster.md): one stream carried
from one Tessera node to another by a pair of RtpEndpoints with SDES-SRTP,
set up with Kurento's own calls (generateOffer on the receiving node,
processOffer on the sending one, processAnswer back). A publisher (aiortc)
on node A, viewers (aiortc) on node B: they decode A's colour and tone, and
a viewer that comes later gets a picture at once because its keyframe
request crosses the link back to the publisher (PLI passed through)."""
import asyncio
import time

from conftest import Client, Server
from media import (ColourTrack, ToneTrack, centre_colour, colour_close, dominant_frequency, make_endpoint, negotiate,
                   peer_connection, receive_only, wait_for)

KEY_A = "node-a-sdes-key-30-chars-long!"
KEY_B = "node-b-sdes-key-30-chars-long!"


def invoke(kurento, obj, operation, **params):
    return kurento.result("invoke", {"object": obj, "operation": operation, "operationParams": params})["value"]


def rtp_endpoint(kurento, pipeline, key):
    return kurento.result("create", {"type": "RtpEndpoint", "constructorParams": {
        "mediaPipeline": pipeline,
        "crypto": {"__module__": "kurento", "__type__": "SDES", "crypto": "AES_128_CM_HMAC_SHA1_80", "key": key}}})["value"]


def stat(kurento, endpoint, kind, type_, field):
    stats = invoke(kurento, endpoint, "getStats", mediaType=kind)
    return sum(s.get(field, 0) for s in stats.values() if s.get("__type__") == type_)


def test_a_stream_crosses_from_one_node_to_another_over_srtp():
    a, b = Server(), Server()
    try:
        asyncio.run(link_scenario(a, b))
    finally:
        a.stop()
        b.stop()


async def link_scenario(a, b):
    ka, kb = Client(a.url), Client(b.url)
    pa = ka.result("create", {"type": "MediaPipeline"})["value"]
    pb = kb.result("create", {"type": "MediaPipeline"})["value"]
    publisher_pc = viewers = None
    try:
        # Node A: the publisher's endpoint, and the sending end of the link.
        publisher = make_endpoint(ka, pa)
        publisher_pc = peer_connection()
        publisher_pc.addTrack(ColourTrack((230, 120, 20)))
        publisher_pc.addTrack(ToneTrack(520))
        await negotiate(ka, publisher, publisher_pc)
        link_a = rtp_endpoint(ka, pa, KEY_A)
        invoke(ka, publisher, "connect", sink=link_a)

        # Node B: the receiving end offers (receive only), A answers, B takes the answer.
        link_b = rtp_endpoint(kb, pb, KEY_B)
        offer = invoke(kb, link_b, "generateOffer")
        assert offer.count("RTP/SAVPF") == 2 and offer.count("a=crypto:") == 2, offer
        answer = invoke(ka, link_a, "processOffer", offer=offer)
        assert answer.count("a=crypto:") == 2 and "ice-ufrag" not in answer, answer
        invoke(kb, link_b, "processAnswer", answer=answer)

        # A viewer on node B decodes node A's publisher.
        first = make_endpoint(kb, pb)
        invoke(kb, link_b, "connect", sink=first)
        pc1, rec1, _ = await receive_only(kb, first, kinds=("video", "audio"))
        viewers = [(pc1, rec1)]
        assert await wait_for(lambda: rec1.video_frames >= 30 and len(rec1.audio) >= 48000, 30), \
            (rec1.video_frames, len(rec1.audio), invoke(kb, link_b, "getStats", mediaType="VIDEO"))
        assert colour_close(centre_colour(rec1.last_rgb), (230, 120, 20)), centre_colour(rec1.last_rgb)
        assert abs(dominant_frequency(rec1.audio) - 520) < 10, dominant_frequency(rec1.audio)
        assert invoke(kb, link_b, "isMediaFlowingIn", mediaType="VIDEO") is True

        # A second viewer later: its keyframe request goes B -> link -> A -> the publisher.
        await asyncio.sleep(3)
        plis_before = stat(ka, publisher, "VIDEO", "RTCInboundRTPStreamStats", "pliCount")
        second = make_endpoint(kb, pb)
        invoke(kb, link_b, "connect", sink=second)
        started = time.time()
        pc2, rec2, _ = await receive_only(kb, second, kinds=("video", "audio"))
        viewers.append((pc2, rec2))
        assert await wait_for(lambda: rec2.video_frames >= 10, 20), rec2.video_frames
        print(f"second viewer on node B: first frames {time.time() - started:.2f} s after it was connected")
        assert colour_close(centre_colour(rec2.last_rgb), (230, 120, 20)), centre_colour(rec2.last_rgb)
        plis_after = stat(ka, publisher, "VIDEO", "RTCInboundRTPStreamStats", "pliCount")
        link_plis = stat(ka, link_a, "VIDEO", "RTCOutboundRTPStreamStats", "pliCount")
        print(f"PLIs: node A's link end received {link_plis}, node A asked the publisher {plis_after - plis_before} more times")
        assert link_plis >= 1 and plis_after > plis_before, (link_plis, plis_before, plis_after)
    finally:
        for pc, rec in viewers or []:
            rec.stop()
            await pc.close()
        if publisher_pc:
            await publisher_pc.close()
        ka.result("release", {"object": pa})
        kb.result("release", {"object": pb})
        ka.close()
        kb.close()
