"""The demo page (/demo) in Chromium headless, with fake camera and microphone,
joins a room next to an aiortc participant: each decodes the other."""
import asyncio
import os
import urllib.request

from media import centre_colour, colour_close, dominant_frequency, wait_for
from room_client import Participant
from test_chromium import CHROME, make_inputs, open_page


def test_demo_page_in_chromium_meets_an_aiortc_participant(server, tmp_path):
    url = f"http://127.0.0.1:{server.port}/demo?room=web&user=chrome&mode=sfu&report=1"
    # Served with a Content-Security-Policy that allows scripts from the server only
    # (the page's module and the room client), none inline; the page working in
    # Chromium below shows that is enough.
    with urllib.request.urlopen(url, timeout=5) as r:
        csp = r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp, csp
    demo_page_meets_aiortc(url, server.url.replace("/kurento", "/room"), tmp_path)


def demo_page_meets_aiortc(url, room_ws_url, tmp_path, extra_flags=()):
    """The demo page at `url` (room `web`, user `chrome`) and an aiortc participant
    joined through `room_ws_url` decode each other's colour and tone."""
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    video, audio = make_inputs(str(tmp_path), (230, 200, 30), 600)
    latest = {}

    async def run():
        py = Participant(room_ws_url, "py", "web", (30, 60, 220), 400)
        await py.join()
        await py.publish()
        proc = open_page(url, tmp_path, video, audio, latest, extra_flags)
        try:
            # The page publishes: aiortc subscribes (participantPublished) and decodes its colour and tone.
            def got_chrome():
                rec = py.recorder("chrome")
                return rec is not None and rec.video_frames >= 30 and rec.last_rgb is not None and len(rec.audio) >= 48000
            assert await wait_for(got_chrome, 40), (latest, py.note_methods())
            await asyncio.sleep(1.0)
            rec = py.recorder("chrome")
            assert colour_close(centre_colour(rec.last_rgb), (230, 200, 30), 45), centre_colour(rec.last_rgb)
            assert abs(dominant_frequency(rec.audio) - 600) < 15
            # The page subscribed to the aiortc participant and its <video> decodes frames.
            assert await wait_for(lambda: latest.get("frames", {}).get("py", 0) > 30, 30), latest
            assert latest.get("joined") and latest.get("published"), latest
            # Markup from another participant (chat here; names with markup are refused by the
            # server) is shown as text: the page shows it and runs nothing.
            attack = '<img src=x onerror="window.tesseraDemo.pwned=true">'
            await asyncio.to_thread(py.socket.result, "sendMessage", {"message": attack, "userMessage": "py", "roomMessage": "web"})
            assert await wait_for(lambda: latest.get("chatMentionsOnerror"), 10), latest
            await asyncio.sleep(1.5)
            assert latest.get("chatElements") == 0 and not latest.get("pwned"), latest
            print("demo page:", latest)
        finally:
            proc.kill()
            proc.wait()
            await py.close()

    asyncio.run(run())
