# Capture a real aiortc 1.16 offer (audio + video, sendrecv), host candidates on 127.0.0.1 only.
import asyncio, sys
import aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
from aiortc import RTCConfiguration, RTCPeerConnection

async def main(out):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    pc.addTransceiver("video")
    await pc.setLocalDescription(await pc.createOffer())
    open(out, "w", newline="").write(pc.localDescription.sdp)
    await pc.close()

asyncio.run(main(sys.argv[1]))
