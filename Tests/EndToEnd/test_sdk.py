"""tessera-room.js, the room API's JavaScript client served at /sdk/, in
headless Chromium next to an aiortc participant: join, publish, automatic
subscription, a screen shared beside the camera, chat both ways, a refused
request's error code, a dropped socket resumed, a switch to MCU with the
composite received, and mute."""
import asyncio
import os
import urllib.request

from media import centre_colour, colour_close, wait_for
from room_client import Participant
from test_chromium import CHROME, make_inputs, run_page
from test_rooms import room_url


def test_the_sdk_in_chromium_meets_an_aiortc_participant(server, tmp_path):
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    sdk = f"http://127.0.0.1:{server.port}/sdk/tessera-room.js"
    with urllib.request.urlopen(sdk, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/javascript") and r.headers["Access-Control-Allow-Origin"] == "*"
        assert b"export class Room" in r.read()
    with urllib.request.urlopen(sdk.replace(".js", ".d.ts"), timeout=5) as r:
        assert b"static join(url: string, options: JoinOptions): Promise<Room>;" in r.read()
    camera = (230, 200, 30)
    video, audio = make_inputs(str(tmp_path), camera, 600)
    url = room_url(server)

    async def run():
        py = Participant(url, "py", "sdk", (30, 60, 220), 400, extensions=["mute", "mode", "streams"])
        await py.join()
        await py.publish()
        page = asyncio.ensure_future(asyncio.to_thread(
            run_page, "sdk.html", f"sdk={sdk}&ws={url}&room=sdk&user=chrome", tmp_path,
            [f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}"], 120))

        def sees(key, colour, tolerance=45):
            rec = py.recorder(key)
            return (rec is not None and rec.video_frames >= 30 and rec.last_rgb is not None
                    and colour_close(centre_colour(rec.last_rgb), colour, tolerance))
        assert await wait_for(lambda: sees("chrome_webcam", camera), 40), py.note_methods()
        # The page shares a green canvas as its screen (Chromium saturates it: a wider tolerance).
        assert await wait_for(lambda: sees("chrome_screen", (40, 200, 60), 60), 40), (list(py.subscriptions), py.note_methods())
        assert py.recorder("chrome_screen").video_sizes[-1] == (640, 360)
        await asyncio.to_thread(py.socket.result, "sendMessage", {"message": "saw your screen", "userMessage": "py", "roomMessage": "sdk"})
        await asyncio.to_thread(py.socket.result, "sendMessage", {"message": "hi from py", "userMessage": "py", "roomMessage": "sdk"})

        def chrome_muted():
            return any(n.get("method") == "streamPropertyChanged" and n["params"].get("id") == "chrome"
                       and n["params"].get("property") == "audioActive" and n["params"].get("newValue") is False for n in py.notes)
        assert await wait_for(chrome_muted, 90), py.note_methods()
        await asyncio.to_thread(py.socket.result, "sendMessage", {"message": "heard your mute", "userMessage": "py", "roomMessage": "sdk"})
        result = await page
        print("sdk page:", result)
        assert result is not None and "error" not in result, result
        assert result["steps"] == ["joined", "published", "sees py", "sharing", "reconnected", "mcu", "muted", "stopped sharing", "done"], result
        assert result["layoutError"] == 309, result
        assert result["resumed"] is True, result
        assert result["frames"]["py"] > 30 and result["frames"]["$mcu"] > 20, result
        assert "chrome: hello from the sdk" in result["messages"], result
        assert "py: hi from py" in result["messages"] and "py: heard your mute" in result["messages"], result
        assert "py" in result["participants"], result
        assert any(n.get("method") == "sendMessage" and n["params"].get("message") == "hello from the sdk" for n in py.notes)
        assert any(n.get("method") == "participantUnpublished" and n["params"] == {"name": "chrome", "streamId": "screen"} for n in py.notes), py.note_methods()
        await py.close()

    asyncio.run(run())
