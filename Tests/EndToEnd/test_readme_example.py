"""The README's first page with tessera-room.js ("Writing your own page"),
taken from README.md as it is, runs in Chromium from another origin and meets
an aiortc participant: each decodes the other. Only what a reader would
fill in is replaced: the server's address and the name the page asks for."""
import asyncio
import os
import re

from cdp import Browser
from conftest import REPO
from media import centre_colour, colour_close, wait_for
from room_client import Participant
from test_chromium import CHROME, make_inputs, serve_folder


def readme_page():
    text = open(os.path.join(REPO, "README.md")).read()
    section = text[text.index("## Writing your own page with tessera-room.js"):]
    return re.search(r"```html\n(.*?)```", section, re.S).group(1)


def test_the_readme_page_meets_an_aiortc_participant(server, tmp_path):
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    page = readme_page()
    assert 'from "/sdk/tessera-room.js"' in page and "room.connect()" in page
    page = (page.replace('"/sdk/tessera-room.js"', f'"http://127.0.0.1:{server.port}/sdk/tessera-room.js"')
                .replace("`ws://${location.host}/room`", f'"ws://127.0.0.1:{server.port}/room"')
                .replace('prompt("Your name")', '"reader"'))
    # What the test reads: each <video> the page made, its size and frames.
    page += """<script type="module">
setInterval(() => console.log("RESULT " + JSON.stringify({ videos: Object.fromEntries([...document.querySelectorAll("video")].map(
  (v) => [v.id, { w: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames }])) })), 1000);
</script>
"""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(page)
    httpd, port = serve_folder(site)
    video, audio = make_inputs(str(tmp_path), (200, 60, 200), 500)

    async def run():
        py = Participant(server.url.replace("/kurento", "/room"), "py", "standup", (30, 160, 220), 400)
        await py.join()
        await py.publish()
        browser = Browser(tmp_path, "reader", f"http://127.0.0.1:{port}/index.html", video, audio)
        try:
            # The page shows py's video ...
            def page_sees_py():
                v = browser.latest.get("videos", {}).get("v-py")
                return v is not None and v["w"] > 0 and v["frames"] > 20
            assert await wait_for(page_sees_py, 40), browser.latest
            # ... and py decodes the page's camera.
            def py_sees_reader():
                rec = py.recorder("reader")
                return rec is not None and rec.video_frames >= 20 and rec.last_rgb is not None
            assert await wait_for(py_sees_reader, 40), py.note_methods()
            assert colour_close(centre_colour(py.recorder("reader").last_rgb), (200, 60, 200), 45)
            print("README page:", browser.latest)
        finally:
            browser.close()
            httpd.shutdown()
            await py.close()

    asyncio.run(run())
