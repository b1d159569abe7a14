#!/usr/bin/python3
# Capture a real GStreamer webrtcbin (1.22) offer: bundle-policy=max-bundle,
# VP8 + OPUS send streams, host candidates on 127.0.0.1 only, UPnP off.
# Writes the createOffer SDP and the local description after ICE gathering.
import sys
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

Gst.init(None)
pipe = Gst.parse_launch(
    "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert "
    "! vp8enc deadline=1 ! rtpvp8pay ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! send. "
    "audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc ! rtpopuspay "
    "! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! send. "
    "webrtcbin name=send bundle-policy=max-bundle")
send = pipe.get_by_name("send")
keep = {"ice": send.get_property("ice-agent")}
keep["agent"] = keep["ice"].get_property("agent")
keep["agent"].set_property("upnp", False)
keep["ice"].emit("add-local-ip-address", "127.0.0.1")
loop = GLib.MainLoop()
state = {}

def on_offer(promise, _u):
    promise.wait()
    reply = promise.get_reply()
    offer = reply.get_value("offer")
    state["offer"] = offer.sdp.as_text()
    send.emit("set-local-description", offer, Gst.Promise.new())

def on_gathering(w, _p):
    if w.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
        state["local"] = w.get_property("local-description").sdp.as_text()
        loop.quit()

send.connect("on-negotiation-needed", lambda w: w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None)))
send.connect("notify::ice-gathering-state", on_gathering)
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add(10000, loop.quit)
loop.run()
pipe.set_state(Gst.State.NULL)
open(sys.argv[1], "w", newline="").write(state.get("offer", ""))
open(sys.argv[2], "w", newline="").write(state.get("local", ""))
print(Gst.version_string())
