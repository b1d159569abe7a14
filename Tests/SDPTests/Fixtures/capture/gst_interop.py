#!/usr/bin/python3
# Interop of Tessera's SDP module with GStreamer 1.22 webrtcbin:
#  1. webrtcbin answers Tessera's offer -> gst-answer.sdp
#  2. webrtcbin (max-bundle, VP8+OPUS) offers, Tessera answers (sdpgen), webrtcbin applies it.
import subprocess, sys
import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402
Gst.init(None)

def sdp_msg(text):
    ok, msg = GstSdp.SDPMessage.new_from_text(text)
    assert ok == GstSdp.SDPResult.OK
    return msg

def prepare(webrtc, keep):
    ice = webrtc.get_property("ice-agent"); agent = ice.get_property("agent")
    agent.set_property("upnp", False); ice.emit("add-local-ip-address", "127.0.0.1"); keep += [ice, agent]

keep = []
# 1. answer our offer
pipe1 = Gst.parse_launch("webrtcbin name=recv bundle-policy=max-bundle fakesrc num-buffers=0 ! fakesink")
recv = pipe1.get_by_name("recv"); prepare(recv, keep)
pipe1.set_state(Gst.State.PLAYING)
offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp_msg(open("tessera-offer.sdp").read()))
p = Gst.Promise.new(); recv.emit("set-remote-description", offer, p); p.wait()
p = Gst.Promise.new(); recv.emit("create-answer", None, p); p.wait()
reply = p.get_reply(); answer = reply.get_value("answer")
open("gst-answer.sdp", "w", newline="").write(answer.sdp.as_text())
print("webrtcbin answered Tessera's offer")
pipe1.set_state(Gst.State.NULL)

# 2. our answer to webrtcbin's offer
pipe = Gst.parse_launch(
    "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert "
    "! vp8enc deadline=1 ! rtpvp8pay ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! send. "
    "audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc ! rtpopuspay "
    "! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! send. "
    "webrtcbin name=send bundle-policy=max-bundle")
send = pipe.get_by_name("send"); prepare(send, keep)
loop = GLib.MainLoop(); state = {}
def on_offer(promise, _u):
    promise.wait(); reply = promise.get_reply(); offer = reply.get_value("offer")
    text = offer.sdp.as_text(); open("gst-offer2.sdp", "w", newline="").write(text)
    send.emit("set-local-description", offer, Gst.Promise.new())
    ours = subprocess.run(["/tmp/sdpgen/sdpgen", "answer", "gst-offer2.sdp"], capture_output=True, text=True, check=True).stdout
    ans = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp_msg(ours))
    send.emit("set-remote-description", ans, Gst.Promise.new_with_change_func(on_applied, None))
def on_applied(p, _u):
    # runs on webrtcbin's thread: never wait() on another promise here (deadlock)
    r = p.get_reply()
    state["error"] = r.get_value("error") if r is not None and r.has_field("error") else None
    GLib.idle_add(finish)
def finish():
    state["dirs"] = [(t.get_property("mid"), str(t.get_property("current-direction"))) for t in [send.emit("get-transceiver", i) for i in range(2)]]
    loop.quit()
send.connect("on-negotiation-needed", lambda w: w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None)))
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add(10000, loop.quit); loop.run(); pipe.set_state(Gst.State.NULL)
print("webrtcbin applied Tessera's answer: error=%s transceivers=%s" % (state.get("error"), state.get("dirs")))
