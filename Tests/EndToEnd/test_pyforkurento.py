"""A third-party Kurento client (pyforkurento 0.1.7 from PyPI) against the real server."""
import pytest
from pyforkurento import client as kclient
from pyforkurento.exceptions import KurentoOperationException

# pyforkurento's listener thread raises when its socket closes (it parses the empty
# close frame as JSON); that is the client's bug, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")

# pyforkurento looks for a reply once, 5 ms after sending, in a list its own
# queue thread fills; when that thread lags (a loaded machine) it "retries" with
# a NEW request id, so the server rightly creates a second object. This makes
# its lookup wait for the reply instead; the wire traffic is unchanged.
import time  # noqa: E402

from pyforkurento import base as _base  # noqa: E402

_lookup = _base.BaseKurentoClient.get_response_from_queue


def _patient_lookup(self, req_id):
    deadline = time.time() + 10
    while time.time() < deadline:
        found = _lookup(self, req_id)
        if isinstance(found, dict):
            return found
        time.sleep(0.002)
    return _lookup(self, req_id)


_base.BaseKurentoClient.get_response_from_queue = _patient_lookup


def test_pipeline_create_and_release(server, capsys):
    kurento = kclient.KurentoClient(server.url)
    kurento.ping()
    assert "pong" in capsys.readouterr().out
    pipeline = kurento.create_media_pipeline()
    assert pipeline.pipeline_id.endswith("_kurento.MediaPipeline")
    assert len(pipeline.session_id) == 36
    assert server.health()["objects"] == 1
    pipeline.dispose()
    assert server.health()["objects"] == 0
    kurento.close_connection()


def test_element_not_yet_available_is_a_clear_error(server):
    """HttpPostEndpoint is not creatable; pyforkurento raises the server's
    error. RtpEndpoint is."""
    kurento = kclient.KurentoClient(server.url)
    pipeline = kurento.create_media_pipeline()
    with pytest.raises(KurentoOperationException) as e:
        pipeline.add_endpoint("HttpPostEndpoint")
    assert "40108" in str(e.value)
    rtp = pipeline.add_endpoint("RtpEndpoint")
    assert "RtpEndpoint" in rtp.elem_id
    # The connection and the pipeline are still fine.
    pipeline.dispose()
    assert server.health()["objects"] == 0
    kurento.close_connection()


def test_webrtc_loopback_driven_by_pyforkurento(server):
    """The Kurento WebRTC loopback, with pyforkurento as the signalling client
    (6.x event names: OnIceCandidate) and aiortc as the media peer."""
    import asyncio
    import queue

    from aiortc import RTCSessionDescription
    from media import ColourTrack, Recorder, ToneTrack, add_remote_candidate, centre_colour, colour_close, \
        dominant_frequency, peer_connection, wait_for

    kurento = kclient.KurentoClient(server.url)
    pipeline = kurento.create_media_pipeline()
    endpoint = pipeline.add_endpoint("WebRtcEndpoint")
    candidates = queue.Queue()
    endpoint.add_event_listener("OnIceCandidate", lambda ev: candidates.put(ev["payload"]["candidate"]))
    endpoint.connect()  # to itself

    async def run():
        pc = peer_connection()
        rec = Recorder()
        pc.on("track", rec.attach)
        pc.addTrack(ColourTrack((240, 200, 20)))
        pc.addTrack(ToneTrack(550))
        await pc.setLocalDescription(await pc.createOffer())
        answer = await asyncio.to_thread(endpoint.process_offer, pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.to_thread(endpoint.gather_ice_candidates)
        candidate = await asyncio.to_thread(candidates.get, True, 10)
        await add_remote_candidate(pc, candidate)
        assert await wait_for(lambda: rec.video_frames >= 30 and len(rec.audio) >= 48000, 15), rec.video_frames
        assert colour_close(centre_colour(rec.last_rgb), (240, 200, 20)), centre_colour(rec.last_rgb)
        assert abs(dominant_frequency(rec.audio) - 550) < 10
        rec.stop()
        await pc.close()

    asyncio.run(asyncio.wait_for(run(), 60))
    pipeline.dispose()
    assert server.health()["objects"] == 0
    kurento.close_connection()
