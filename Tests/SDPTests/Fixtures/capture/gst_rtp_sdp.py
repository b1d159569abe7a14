# Builds the SDP GStreamer itself writes for an RTP sender: the caps of real
# payloaders (rtpopuspay, rtpvp8pay), negotiated in a running pipeline, turned
# into m-lines by libgstsdp's gst_sdp_media_set_media_from_caps (what
# gst-rtsp-server does). ctypes, because PyGObject crashes on that call.
import ctypes, sys
import gi
gi.require_version('Gst', '1.0')
from gi.repository import Gst
Gst.init(None)
pipe = Gst.parse_launch(
    "audiotestsrc num-buffers=5 ! opusenc ! rtpopuspay pt=96 name=ap ! fakesink "
    "videotestsrc num-buffers=5 ! vp8enc deadline=1 ! rtpvp8pay pt=97 name=vp ! fakesink")
pipe.set_state(Gst.State.PLAYING)
pipe.get_bus().timed_pop_filtered(5 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
caps_text = {n: pipe.get_by_name(n).get_static_pad("src").get_current_caps().to_string() for n in ("ap", "vp")}
pipe.set_state(Gst.State.NULL)
gst = ctypes.CDLL("libgstreamer-1.0.so.0"); sdp = ctypes.CDLL("libgstsdp-1.0.so.0")
gst.gst_caps_from_string.restype = ctypes.c_void_p
sdp.gst_sdp_message_as_text.restype = ctypes.c_char_p
msg = ctypes.c_void_p(); sdp.gst_sdp_message_new(ctypes.byref(msg))
sdp.gst_sdp_message_set_version(msg, b"0")
sdp.gst_sdp_message_set_origin(msg, b"-", b"1188340656180883", b"1", b"IN", b"IP4", b"127.0.0.1")
sdp.gst_sdp_message_set_session_name(msg, b"GStreamer RTP sender")
sdp.gst_sdp_message_set_connection(msg, b"IN", b"IP4", b"127.0.0.1", 0, 0)
sdp.gst_sdp_message_add_time(msg, b"0", b"0", None)
for name, port in (("ap", 5002), ("vp", 5004)):
    print(caps_text[name], file=sys.stderr)
    caps = ctypes.c_void_p(gst.gst_caps_from_string(caps_text[name].encode()))
    media = ctypes.c_void_p(); sdp.gst_sdp_media_new(ctypes.byref(media))
    sdp.gst_sdp_media_set_media_from_caps(caps, media)
    sdp.gst_sdp_media_set_port_info(media, port, 1)
    sdp.gst_sdp_media_set_proto(media, b"RTP/AVP")
    sdp.gst_sdp_media_add_attribute(media, b"sendonly", None)
    sdp.gst_sdp_message_add_media(msg, media)
sys.stdout.write(sdp.gst_sdp_message_as_text(msg).decode())
