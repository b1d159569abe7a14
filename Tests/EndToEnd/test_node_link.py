"""The link a cascaded room is made of (docs/cluster.md): one stream carried
from one Tessera node to another by a pair of RtpEndpoints with SDES-SRTP,
set up with Kurento's own calls (generateOffer on the receiving node,
processOffer on the sending one, processAnswer back). A publisher (aiortc)
on node A, viewers (aiortc) on node B: they decode A's colour and tone, and
a viewer that comes later gets a picture at once because its keyframe
request crosses the link back to the publisher (PLI passed through).
And the cascade's two-stage audio mix, built from the same elements: the
owner mixes its talkers once for the relay node (every voice but the relay's
own talkers, by mix exclusions), the relay node mixes that with its talkers,
and nobody anywhere hears their own voice."""
import asyncio
import time

from conftest import Client, Server
from media import (ColourTrack, ToneTrack, centre_colour, colour_close, dominant_frequency, join_hub, make_endpoint, negotiate,
                   peer_connection, receive_only, tone_level, wait_for)

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


def on_two_nodes(scenario):
    """Runs `scenario(ka, pa, kb, pb)` against two tessera nodes: a Kurento
    client and a MediaPipeline on each, released afterwards."""
    a, b = Server(), Server()
    clients = []
    try:
        ka, kb = Client(a.url), Client(b.url)
        clients = [ka, kb]
        pa = ka.result("create", {"type": "MediaPipeline"})["value"]
        pb = kb.result("create", {"type": "MediaPipeline"})["value"]
        try:
            asyncio.run(scenario(ka, pa, kb, pb))
        finally:
            ka.result("release", {"object": pa})
            kb.result("release", {"object": pb})
    finally:
        for k in clients:
            k.close()
        a.stop()
        b.stop()


def test_a_stream_crosses_from_one_node_to_another_over_srtp():
    on_two_nodes(link_scenario)


async def link_scenario(ka, pa, kb, pb):
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


def link(k_send, send_end, k_receive, receive_end):
    """SDES-SRTP RTP between two RtpEndpoints on two nodes: the receiving end offers."""
    offer = invoke(k_receive, receive_end, "generateOffer")
    answer = invoke(k_send, send_end, "processOffer", offer=offer)
    invoke(k_receive, receive_end, "processAnswer", answer=answer)


def hears(rec, present, absent):
    audio = rec.audio[-48000:]
    if len(audio) < 48000:
        return False
    # An own voice that came back would be as strong as the others (near 1); 0.1 leaves room for leakage.
    return all(tone_level(audio, hz) > 0.3 for hz in present) and all(tone_level(audio, hz) < 0.1 for hz in absent)


def levels(rec, tones):
    return {hz: round(tone_level(rec.audio[-48000:], hz), 3) for hz in tones}


def test_two_stage_mix_minus_across_two_nodes():
    on_two_nodes(two_stage_scenario)


async def two_stage_scenario(ka, pa, kb, pb):
    peers = []
    try:
        ca = ka.result("create", {"type": "Composite", "constructorParams": {"mediaPipeline": pa}})["value"]
        cb = kb.result("create", {"type": "Composite", "constructorParams": {"mediaPipeline": pb}})["value"]
        # The owner (A) has two talkers; the relay node (B) one.
        t1 = await join_hub(ka, pa, ca, (220, 40, 40), 440)
        t2 = await join_hub(ka, pa, ca, (40, 200, 60), 660)
        t3 = await join_hub(kb, pb, cb, (40, 80, 230), 880)
        peers = [t1, t2, t3]
        # B's talker crosses to A once, into a port of A's mix.
        to_a = rtp_endpoint(kb, pb, KEY_B)
        invoke(kb, t3[0], "connect", sink=to_a, mediaType="AUDIO")
        from_b = rtp_endpoint(ka, pa, KEY_A)
        link(kb, to_a, ka, from_b)
        port_from_b = ka.result("create", {"type": "HubPort", "constructorParams": {"hub": ca}})["value"]
        invoke(ka, from_b, "connect", sink=port_from_b, mediaType="AUDIO")
        # A's mix for B, made once: everyone on A's mix but B's own talkers.
        port_to_b = ka.result("create", {"type": "HubPort", "constructorParams": {"hub": ca}})["value"]
        invoke(ka, ca, "setMixExclusions", port=port_to_b, exclude=[port_from_b])
        to_b = rtp_endpoint(ka, pa, KEY_A)
        invoke(ka, port_to_b, "connect", sink=to_b, mediaType="AUDIO")
        from_a = rtp_endpoint(kb, pb, KEY_B)
        link(ka, to_b, kb, from_a)
        port_from_a = kb.result("create", {"type": "HubPort", "constructorParams": {"hub": cb}})["value"]
        invoke(kb, from_a, "connect", sink=port_from_a, mediaType="AUDIO")

        # B's talker hears A's two and not itself; A's talkers hear each other and B's, not themselves.
        checks = [("t3 on B", t3[3], (440, 660), (880,)), ("t1 on A", t1[3], (660, 880), (440,)), ("t2 on A", t2[3], (440, 880), (660,))]
        for name, rec, present, absent in checks:
            assert await wait_for(lambda: hears(rec, present, absent), 30), (name, levels(rec, (440, 660, 880)))
        for name, rec, _, _ in checks:
            print(name, "hears", levels(rec, (440, 660, 880)))
    finally:
        for w, port, pc, rec in peers:
            rec.stop()
            await pc.close()
