# Interop check of Tessera's SDP module against aiortc 1.16:
#  1. aiortc answers Tessera's offer (tessera-offer.sdp) -> aiortc-answer.sdp
#  2. aiortc makes an offer, Tessera answers it (sdpgen), aiortc accepts the answer.
import asyncio, subprocess, sys
import aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

async def main():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    await pc.setRemoteDescription(RTCSessionDescription(open("tessera-offer.sdp").read(), "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    open("aiortc-answer.sdp", "w", newline="").write(pc.localDescription.sdp)
    print("aiortc answered Tessera's offer; transceivers:", [(t.kind, t.mid, t.currentDirection) for t in pc.getTransceivers()])
    await pc.close()

    pc2 = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc2.addTransceiver("audio")
    pc2.addTransceiver("video")
    await pc2.setLocalDescription(await pc2.createOffer())
    open("aiortc-offer2.sdp", "w", newline="").write(pc2.localDescription.sdp)
    ours = subprocess.run(["/tmp/sdpgen/sdpgen", "answer", "aiortc-offer2.sdp"], capture_output=True, text=True, check=True).stdout
    open("tessera-answer-to-aiortc.sdp", "w", newline="").write(ours)
    await pc2.setRemoteDescription(RTCSessionDescription(ours, "answer"))
    print("aiortc accepted Tessera's answer; transceivers:", [(t.kind, t.mid, t.currentDirection, [c.mimeType for c in t._codecs]) for t in pc2.getTransceivers()])
    await pc2.close()

asyncio.run(main())
