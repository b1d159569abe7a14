"""Extension `streams` of the room API with real peers (aiortc): a participant
publishes a shared screen beside its camera. Stream-aware subscribers decode
both; a legacy (KurentoRoom.js-style) client sees the camera only; in an MCU
room the screen gets the large tile of the `presentation` layout, and its sound
reaches everyone but the one sharing it."""
import asyncio

from conftest import Server
from media import centre_colour, colour_close, tone_level, wait_for
from room_client import Participant
from test_rooms import close_all, objects, room_url

RED, GREEN, BLUE = (220, 40, 40), (40, 200, 60), (40, 60, 220)


def decodes(p, key, colour, frames=15, tolerance=40):
    rec = p.recorder(key)
    return (rec is not None and rec.video_frames >= frames and rec.last_rgb is not None
            and colour_close(centre_colour(rec.last_rgb), colour, tolerance))


def test_a_screen_beside_the_camera_in_an_sfu_room():
    server = Server()
    try:
        async def run():
            url = room_url(server)
            alice = Participant(url, "alice", "screens", RED, 300, extensions=["streams"])
            bob = Participant(url, "bob", "screens", BLUE, 500, extensions=["streams"])
            carol = Participant(url, "carol", "screens", None, None)  # legacy, receives only
            for p in (alice, bob, carol):
                await p.join()
            await alice.publish()
            await bob.publish()
            r = await alice.publish_stream("screen", GREEN, size=(640, 360))
            assert r["streamId"] == "screen", r

            # bob decodes alice's camera (red, 320x240, her tone) and her screen (green, 640x360).
            assert await wait_for(lambda: decodes(bob, "alice_webcam", RED) and decodes(bob, "alice_screen", GREEN), 25), \
                (list(bob.subscriptions), [(k, bob.recorder(k).video_frames) for k in bob.subscriptions])
            assert bob.recorder("alice_screen").video_sizes[-1] == (640, 360)
            assert bob.recorder("alice_webcam").video_sizes[-1] == (320, 240)
            assert await wait_for(lambda: tone_level(bob.recorder("alice_webcam").audio[-48000:], 300) > 0.3, 10)
            # alice sees bob's camera (keyed bob_webcam: she is stream-aware too).
            assert await wait_for(lambda: decodes(alice, "bob_webcam", BLUE), 25), list(alice.subscriptions)

            # carol, a legacy client, was told of one stream per participant and subscribed to those.
            assert await wait_for(lambda: decodes(carol, "alice", RED) and decodes(carol, "bob", BLUE), 25), list(carol.subscriptions)
            published = [n["params"] for n in carol.notes if n.get("method") == "participantPublished"]
            assert all(len(p["streams"]) == 1 and p["streams"][0]["id"] == "webcam" for p in published), published
            assert sorted(carol.subscriptions) == ["alice", "bob"]

            # The screen stops: bob is told which stream went, and its endpoints are released.
            before = objects(server)
            await alice.unpublish_stream("screen")
            assert await wait_for(lambda: "alice_screen" not in bob.subscriptions, 10), list(bob.subscriptions)
            notes = [n["params"] for n in bob.notes if n.get("method") == "participantUnpublished"]
            assert notes == [{"name": "alice", "streamId": "screen"}], notes
            assert await wait_for(lambda: objects(server) == before - 2, 10), (before, objects(server))
            # The camera goes on.
            frames = bob.recorder("alice_webcam").video_frames
            await asyncio.sleep(1.0)
            assert bob.recorder("alice_webcam").video_frames > frames
            assert not any(n.get("method") == "participantUnpublished" for n in carol.notes)
            await close_all([alice, bob, carol], server)
        asyncio.run(run())
    finally:
        server.stop()


def test_a_screen_share_in_an_mcu_room_takes_the_presentation_tile():
    server = Server(env_overrides={"TESSERA_MIXER_WIDTH": "640", "TESSERA_MIXER_HEIGHT": "360", "TESSERA_MIXER_FPS": "15"})
    try:
        async def run():
            url = room_url(server)
            alice = Participant(url, "alice", "present", RED, 300, extensions=["streams", "layout"], mode="mcu")
            bob = Participant(url, "bob", "present", BLUE, 500, extensions=["streams"])
            carol = Participant(url, "carol", "present", None, None)  # legacy: the composite only
            for p in (alice, bob, carol):
                await p.join()
            await alice.publish()
            await bob.publish()
            # bob shares a green screen with its own sound (900 Hz).
            await bob.publish_stream("screen", GREEN, size=(640, 360), hz=900)

            def tile(rgb, fx, fy):
                h, w, _ = rgb.shape
                x, y = int(fx * w), int(fy * h)
                patch = rgb[y - 4:y + 4, x - 4:x + 4].reshape(-1, 3)
                return tuple(int(v) for v in patch.mean(axis=0))

            def presentation():
                rec = carol.recorder("$mcu")
                if rec is None or rec.last_rgb is None:
                    return False
                rgb = rec.last_rgb
                # The screen over the left 4/5; the cameras stacked in the right fifth, alice above bob.
                return (colour_close(tile(rgb, 0.4, 0.5), GREEN) and colour_close(tile(rgb, 0.9, 0.4), RED)
                        and colour_close(tile(rgb, 0.9, 0.6), BLUE))
            ok = await wait_for(presentation, 30)
            rec = carol.recorder("$mcu")
            assert ok, None if rec is None or rec.last_rgb is None else [tile(rec.last_rgb, *f) for f in ((0.4, 0.5), (0.9, 0.4), (0.9, 0.6))]
            print("presentation tiles (screen, alice, bob):", [tile(rec.last_rgb, *f) for f in ((0.4, 0.5), (0.9, 0.4), (0.9, 0.6))])
            layouts = [n["params"] for n in alice.notes if n.get("method") == "layoutChanged"]
            assert layouts[-1]["layout"] == "presentation", layouts[-1]
            assert [(t["id"], t["streamId"]) for t in layouts[-1]["tiles"]] == [("bob", "screen"), ("alice", "webcam"), ("bob", "webcam")]

            # The screen's sound is in everyone's mix but bob's own.
            def hears(p, hz):
                rec = p.recorder("$mcu_composite" if p.aware else "$mcu")
                if rec is None or len(rec.audio) < 48000:
                    return None
                return tone_level(rec.audio[-48000:], hz)
            for p in (alice, carol):
                assert await wait_for(lambda: (hears(p, 900) or 0) > 0.3 and (hears(p, 500) or 0) > 0.3, 20), (p.name, hears(p, 900), hears(p, 500))
            assert await wait_for(lambda: (hears(bob, 300) or 0) > 0.3, 20), hears(bob, 300)
            await asyncio.sleep(1.0)
            print("900 Hz (the screen's sound) at alice, carol, bob:", hears(alice, 900), hears(carol, 900), hears(bob, 900))
            assert hears(bob, 900) < 0.05 and hears(bob, 500) < 0.05, (hears(bob, 900), hears(bob, 500))

            # The share ends: the room's default grid comes back (alice left of bob).
            await bob.unpublish_stream("screen")

            def grid():
                rgb = carol.recorder("$mcu").last_rgb
                return colour_close(tile(rgb, 0.25, 0.5), RED) and colour_close(tile(rgb, 0.75, 0.5), BLUE)
            assert await wait_for(grid, 15), [tile(carol.recorder("$mcu").last_rgb, *f) for f in ((0.25, 0.5), (0.75, 0.5))]
            await close_all([alice, bob, carol], server)
        asyncio.run(run())
    finally:
        server.stop()


def test_chromium_shares_a_screen_beside_its_camera(tmp_path):
    """One Chromium participant publishes its (fake) camera and a canvas as its
    screen; an aiortc participant of the extension sees two streams and decodes
    the camera's colour and the screen's, each at its own size."""
    import os
    from test_chromium import CHROME, make_inputs, run_page
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    camera = (200, 60, 40)
    video, audio = make_inputs(str(tmp_path), camera, 440)
    server = Server(env_overrides={"TESSERA_ROOM_GRACE": "2", "TESSERA_LOG_LEVEL": "debug"})
    try:
        async def run():
            url = room_url(server)
            viewer = Participant(url, "viewer", "chrome-share", None, None, extensions=["streams"])
            await viewer.join()
            page = asyncio.ensure_future(asyncio.to_thread(
                run_page, "screenshare.html", f"ws={url}&room=chrome-share&user=chrome&seconds=12", tmp_path,
                [f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}"], 60))

            # Chromium turns the canvas's RGB into YUV with more saturation than ffmpeg's file
            # (40, 200, 60 comes back as about 44, 243, 58): a wider tolerance for the screen.
            def both():
                return decodes(viewer, "chrome_webcam", camera) and decodes(viewer, "chrome_screen", GREEN, tolerance=60)
            ok = await wait_for(both, 10)
            seen = {k: (viewer.recorder(k).video_frames, viewer.recorder(k).last_rgb is not None and centre_colour(viewer.recorder(k).last_rgb))
                    for k in viewer.subscriptions}
            print("viewer decoded (frames, colour):", seen)
            if not ok:
                # What each subscription's PeerConnection got, for the failure message.
                for k, (pc, rec, sid) in viewer.subscriptions.items():
                    st = await pc.getStats()
                    seen[k] = (seen[k], pc.connectionState,
                               [(s.kind, s.packetsReceived, s.packetsLost) for s in st.values() if s.type == "inbound-rtp"])
                log = [line for line in server.log_text().splitlines()
                       if "keyframe" in line.lower() or "pli" in line.lower() or "screen" in line.lower()]
                print("server log about keyframes and the screen:\n" + "\n".join(log[-60:]))
            assert ok, (seen, viewer.note_methods(), await page)
            assert viewer.recorder("chrome_screen").video_sizes[-1] == (640, 360)
            assert viewer.recorder("chrome_webcam").video_sizes[-1] == (320, 240)
            published = [n["params"] for n in viewer.notes if n.get("method") == "participantPublished"]
            assert published[-1]["streams"] == [{"id": "webcam", "source": "camera"}, {"id": "screen", "source": "screen"}], published
            result = await page
            print("chromium:", result)
            print("keyframe requests repeated for viewers that had none:", server.log_text().count("asking the source again"))
            print("publishers that sent RTX copies of packets already received (not forwarded):",
                  server.log_text().count("resends packets we already have"))
            assert result is not None and "error" not in result, result
            assert result["streams"] == ["webcam", "screen"] and result["screen"]["frames"] > 50, result
            await close_all([viewer], server)
        asyncio.run(run())
    finally:
        server.stop()
