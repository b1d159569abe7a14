"""Per-endpoint ICE settings (externalIPv4, networkInterfaces) and video
bandwidth limits, seen from real peers (aiortc) on loopback."""
import asyncio

from aiortc import RTCRtpSender
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from conftest import ICE_MODE, Client
from media import (ColourTrack, Recorder, centre_colour, colour_close, make_endpoint, negotiate,
                   negotiate_seeing_events, peer_connection, receive_only, wait_for)


def invoke(kurento, obj, op, **params):
    return kurento.result("invoke", {"object": obj, "operation": op, "operationParams": params})


def gathered(kurento, w, pc_offer):
    """processOffer + gatherCandidates without connecting; returns the candidate strings."""
    invoke(kurento, w, "processOffer", offer=pc_offer)
    invoke(kurento, w, "gatherCandidates")
    out = []
    while True:
        v = kurento.wait_event(None, 10, w, ["IceCandidateFound", "IceGatheringDone"])["params"]["value"]
        if v["type"] == "IceGatheringDone":
            return out
        out.append(v["data"]["candidate"]["candidate"])


def test_external_ipv4_is_advertised(server):
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p)
        invoke(kurento, w, "setExternalIPv4", externalIPv4="198.51.100.7")
        assert invoke(kurento, w, "getExternalIPv4")["value"] == "198.51.100.7"
        pc = peer_connection()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        candidates = await asyncio.to_thread(gathered, kurento, w, pc.localDescription.sdp)
        hosts = [c for c in candidates if " typ host" in c]
        assert hosts and all(c.split()[4] == "198.51.100.7" for c in hosts), candidates
        assert not any("127.0.0.1" in c for c in candidates), candidates
        assert kurento.error("invoke", {"object": w, "operation": "setExternalIPv4",
                                        "operationParams": {"externalIPv4": "198.51.100.8"}})["code"] == 40107
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 30))


def test_network_interfaces_lo_gathers_only_loopback(server):
    """The server config gathers on 127.0.0.1 only; networkInterfaces=lo
    replaces that with every address of lo (so ::1 appears too), and media
    flows over it."""
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = make_endpoint(kurento, p)
        invoke(kurento, w, "setNetworkInterfaces", networkInterfaces="lo")
        assert invoke(kurento, w, "getNetworkInterfaces")["value"] == "lo"
        err = kurento.error("invoke", {"object": w, "operation": "setNetworkInterfaces",
                                       "operationParams": {"networkInterfaces": "no-such-if0"}})
        assert err["code"] == 40107
        kurento.result("subscribe", {"object": w, "type": "IceCandidateFound"})
        invoke(kurento, w, "connect", sink=w)
        pc = peer_connection()
        rec = Recorder()
        pc.on("track", rec.attach)
        pc.addTrack(ColourTrack((200, 200, 30)))
        _, seen = await negotiate_seeing_events(kurento, w, pc)
        addresses = {v["data"]["candidate"]["candidate"].split()[4] for v in seen if v["type"] == "IceCandidateFound"}
        assert addresses and addresses <= {"127.0.0.1", "::1"}, addresses
        if ICE_MODE == "full":
            assert "::1" in addresses, addresses  # lo's own list, not the config's 127.0.0.1 alone
        else:
            # The shared port is IPv4: lo's ::1 is skipped (docs/media-plane.md).
            assert addresses == {"127.0.0.1"}, addresses
        assert await wait_for(lambda: rec.video_frames >= 20, 15), rec.video_frames
        assert colour_close(centre_colour(rec.last_rgb), (200, 200, 30))
        rec.stop()
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 40))


def _record_remb(received):
    """Wraps aiortc's sender RTCP handler to keep every REMB bitrate it is sent."""
    original = RTCRtpSender._handle_rtcp_packet

    async def handler(self, packet):
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if self._ssrc in ssrcs:
                    received.append(bitrate)
            except ValueError:
                pass
        await original(self, packet)
    RTCRtpSender._handle_rtcp_packet = handler
    return original


def test_bandwidth_limits_bound_the_remb_a_publisher_receives(server):
    """Publisher P (maxVideoRecvBandwidth 300) -> viewer V. V's send limits
    pinned to 200 kbps: the publisher is asked for 200 kbps; V's raised to
    1000: P's own 300 kbps maximum applies. b=AS:300 is in P's answer."""
    received = []
    original = _record_remb(received)
    try:
        async def run():
            kurento = Client(server.url)
            p = kurento.result("create", {"type": "MediaPipeline"})["value"]
            pub = make_endpoint(kurento, p)
            view = make_endpoint(kurento, p)
            invoke(kurento, pub, "setMaxVideoRecvBandwidth", maxVideoRecvBandwidth=300)
            invoke(kurento, view, "setMaxVideoSendBandwidth", maxVideoSendBandwidth=200)
            invoke(kurento, view, "setMinVideoSendBandwidth", minVideoSendBandwidth=200)
            invoke(kurento, pub, "connect", sink=view)
            a = peer_connection()
            a.addTrack(ColourTrack((10, 90, 200)))
            answer = await negotiate(kurento, pub, a)
            video = answer[answer.index("m=video"):]
            assert "b=AS:300\r\n" in video, answer
            b, rec, _ = await receive_only(kurento, view, kinds=("video",))
            assert await wait_for(lambda: rec.video_frames >= 20, 15), rec.video_frames
            assert await wait_for(lambda: received and received[-1] == 200_000, 5), received
            invoke(kurento, view, "setMaxVideoSendBandwidth", maxVideoSendBandwidth=1000)
            invoke(kurento, view, "setMinVideoSendBandwidth", minVideoSendBandwidth=1000)
            assert await wait_for(lambda: received[-1] == 300_000, 5), received
            stats = invoke(kurento, pub, "getStats", mediaType="VIDEO")["value"]
            inbound = [s for s in stats.values() if s["__type__"] == "RTCInboundRTPStreamStats"]
            assert inbound and inbound[0]["remb"] == 300_000, inbound
            assert max(received) <= 300_000, received
            rec.stop()
            await a.close()
            await b.close()
            kurento.result("release", {"object": p})
            kurento.close()

        asyncio.run(asyncio.wait_for(run(), 60))
    finally:
        RTCRtpSender._handle_rtcp_packet = original
