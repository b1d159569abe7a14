"""The room API (ws /room) with real peers (aiortc) on loopback: three
participants in an SFU room, mode switches, and a participant whose socket
dies. What is checked is what each peer really decoded."""
import asyncio
import json
import time
import urllib.request

from conftest import Server
from media import centre_colour, colour_close, colour_present, dominant_frequency, tone_level, wait_for
from room_client import Participant, RoomSocket

PEOPLE = [
    ("alice", (220, 40, 40), 300),
    ("bob", (40, 200, 60), 500),
    ("carol", (40, 60, 220), 700),
]


def room_url(server):
    return server.url.replace("/kurento", "/room")


async def close_all(people, server):
    """Everyone leaves; the server then holds no media object."""
    for p in people:
        await p.close()
    assert await wait_for(lambda: objects(server) == 0, 10), objects(server)


def objects(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5) as r:
        return json.loads(r.read())["objects"]


async def check_sfu_view(people, timeout=25):
    """Every participant receives each other's stream with its colour and tone."""
    for me, _, _ in [(p, None, None) for p in people]:
        for other in people:
            if other is me:
                continue

            def ready():
                rec = me.recorder(other.name)
                return rec is not None and rec.video_frames >= 20 and rec.last_rgb is not None and len(rec.audio) >= 48000
            assert await wait_for(ready, timeout), f"{me.name} gets nothing usable from {other.name}: {me.subscriptions.keys()}"
    await asyncio.sleep(1.0)
    for me in people:
        for other in people:
            if other is me:
                continue
            rec = me.recorder(other.name)
            colour = centre_colour(rec.last_rgb)
            assert colour_close(colour, other.colour), f"{me.name} sees {colour} from {other.name}"
            freq = dominant_frequency(rec.audio)
            assert abs(freq - other.hz) < 10, f"{me.name} hears {freq} Hz from {other.name}"


def test_sfu_room_three_participants_and_a_dropped_socket():
    server = Server(env_overrides={"TESSERA_ROOM_GRACE": "2"})
    try:
        async def run():
            url = room_url(server)
            people = [Participant(url, n, "sfu-demo", c, hz) for n, c, hz in PEOPLE]
            for p in people:
                await p.join()
                await p.publish()
            await check_sfu_view(people)
            print("SFU: each of three participants decodes the other two")

            # carol's socket dies (no leaveRoom): after the grace period the others are told.
            carol = people[2]
            carol.socket.close()
            await carol.publisher.close()
            for p in people[:2]:
                assert await wait_for(lambda: any(n.get("method") == "participantLeft" and n["params"]["name"] == "carol" for n in p.notes), 10), p.note_methods()
            # alice and bob keep receiving each other.
            bob_at_alice = people[0].recorder("bob").video_frames
            await asyncio.sleep(1.0)
            assert people[0].recorder("bob").video_frames > bob_at_alice
            for p in people[:2]:
                await p.close()
            # Everything the room made is released once the last one left.
            assert await wait_for(lambda: objects(server) == 0, 10), objects(server)
        asyncio.run(run())
    finally:
        server.stop()


def test_room_bad_input_keeps_the_room_serving(server):
    url = room_url(server)
    a = RoomSocket(url)
    b = RoomSocket(url)
    try:
        assert a.result("joinRoom", {"user": "alice", "room": "r1"})["value"] == []
        assert a.request("joinRoom", {"user": "alice", "room": "r1"})["error"]["code"] == 104   # join twice
        assert b.request("publishVideo", {"sdpOffer": "v=0", "doLoopback": False})["error"]["code"] == 102   # publish without join
        assert b.request("joinRoom", {"user": "bad_name", "room": "r1"})["error"]["code"] == 999
        b.result("joinRoom", {"user": "bob", "room": "r1"})
        assert b.request("receiveVideoFrom", {"sender": "zed_webcam", "sdpOffer": "v=0"})["error"]["code"] == 102   # unknown sender
        assert b.request("receiveVideoFrom", {"sender": "alice_webcam", "sdpOffer": "v=0"})["error"]["code"] == 105  # not publishing
        malformed = a.request("publishVideo", {"sdpOffer": "this is not sdp", "doLoopback": False})
        assert malformed["error"]["code"] == 302 and "offer" in malformed["error"]["message"].lower(), malformed
        assert b.request("setRoomMode", {"mode": "warp"})["error"]["code"] == 205
        assert b.request("teleport", {})["error"]["code"] == -32601
        a.ws.send("{broken")
        # The room still works for both.
        b.result("sendMessage", {"message": "still here", "userMessage": "bob", "roomMessage": "r1"})
        deadline = time.time() + 5
        seen = []
        while time.time() < deadline and not any(m and m.get("method") == "sendMessage" for m in seen):
            try:
                seen.append(a.notifications.get(timeout=0.5))
            except Exception:
                pass
        assert any(m and m.get("method") == "sendMessage" and m["params"]["message"] == "still here" for m in seen), seen
        assert a.result("ping", {})["value"] == "pong"
    finally:
        a.close()
        b.close()


def test_room_tokens_and_moderator_requests():
    key = "test-room-key"
    server = Server(env_overrides={"TESSERA_ROOM_TOKEN_KEY": key})
    try:
        url = room_url(server)
        s = RoomSocket(url)
        assert s.request("joinRoom", {"user": "alice", "room": "r"})["error"]["code"] == 401
        assert s.request("joinRoom", {"user": "alice", "room": "r", "token": "a.b.c"})["error"]["code"] == 401
        token = make_token(key, room="r", user="alice", role="publisher")
        assert s.result("joinRoom", {"user": "alice", "room": "r", "token": token})["role"] == "publisher"
        assert s.request("setRoomMode", {"mode": "mcu"})["error"]["code"] == 401
        mod = RoomSocket(url)
        assert mod.result("joinRoom", {"user": "mo", "room": "r", "token": make_token(key, room="r", user="mo", role="moderator")})["role"] == "moderator"
        assert mod.result("setRoomMode", {"mode": "mcu"})["mode"] == "mcu"
        s.close()
        mod.close()
    finally:
        server.stop()


def make_token(key, room, user, role):
    import base64
    import hashlib
    import hmac

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"room": room, "user": user, "role": role, "exp": int(time.time()) + 600}).encode())
    sig = b64(hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{sig}"



def mix_ok(audio, me, people):
    """The others' tones are in the mix and mine is not."""
    levels = {p.hz: tone_level(audio, p.hz) for p in people}
    return all((levels[p.hz] < 0.05) if p is me else (levels[p.hz] > 0.3) for p in people), levels


async def check_mcu_view(people, timeout=30):
    for me in people:
        def ready():
            rec = me.recorder("$mcu")
            return (rec is not None and rec.last_rgb is not None and len(rec.audio) >= 48000
                    and all(colour_present(rec.last_rgb, p.colour) for p in people)
                    and set(me.subscriptions) == {"$mcu"})
        assert await wait_for(ready, timeout), (me.name, list(me.subscriptions), me.note_methods()[-8:])
    await asyncio.sleep(1.5)
    for me in people:
        ok, levels = mix_ok(me.recorder("$mcu").audio[-48000:], me, people)
        assert ok, f"{me.name} hears {levels}"


async def check_hybrid_view(people, timeout=30):
    for me in people:
        others = [p for p in people if p is not me]

        def ready():
            mix = me.recorder("$mcu")
            if mix is None or len(mix.audio) < 48000:
                return False
            for o in others:
                rec = me.recorder(o.name)
                if rec is None or rec.last_rgb is None or me.subscriptions[o.name][2] != "webcam":
                    return False
            return True
        assert await wait_for(ready, timeout), (me.name, list(me.subscriptions))
    await asyncio.sleep(1.5)
    for me in people:
        for o in [p for p in people if p is not me]:
            assert colour_close(centre_colour(me.recorder(o.name).last_rgb), o.colour)
        ok, levels = mix_ok(me.recorder("$mcu").audio[-48000:], me, people)
        assert ok, f"{me.name} hears {levels} in hybrid mode"


def test_sfu_room_reports_speakers_from_the_audio_levels_they_send():
    """An SFU room mixes nothing: who speaks comes from the RFC 6464 levels in
    each publisher's packets. alice sends silence, bob a loud tone, carol a
    quiet one (about -43 dBov)."""
    server = Server()
    try:
        async def run():
            url = room_url(server)
            levels = {"alice": 0.0, "bob": 0.25, "carol": 0.01}
            people = [Participant(url, n, "voices", c, hz, extensions=["speaking"], amplitude=levels[n]) for n, c, hz in PEOPLE]
            for p in people:
                await p.join()
                await p.publish()
            alice = people[0]

            def speaking(p, user):
                edges = [n["params"]["speaking"] for n in p.notes
                         if n.get("method") == "participantSpeaking" and n["params"]["id"] == user]
                return edges[-1] if edges else None

            def dominant(p):
                ds = [n["params"]["id"] for n in p.notes if n.get("method") == "dominantSpeakerChanged"]
                return ds[-1] if ds else None
            assert await wait_for(lambda: speaking(alice, "bob") and speaking(alice, "carol"), 15), alice.notes[-10:]
            assert await wait_for(lambda: dominant(alice) == "bob", 5), alice.notes[-10:]
            assert speaking(alice, "alice") is None, "silence was reported as speech"
            bob_level = [n["params"]["level"] for n in alice.notes if n.get("method") == "participantSpeaking"
                         and n["params"]["id"] == "bob"][0]
            carol_level = [n["params"]["level"] for n in alice.notes if n.get("method") == "participantSpeaking"
                           and n["params"]["id"] == "carol"][0]
            print("levels: bob", bob_level, "carol", carol_level)
            assert bob_level > carol_level, (bob_level, carol_level)
            # bob stops publishing: his speech ends and carol becomes the dominant speaker.
            await asyncio.to_thread(people[1].socket.result, "unpublishVideo", {})
            assert await wait_for(lambda: speaking(alice, "bob") is False and dominant(alice) == "carol", 10), alice.notes[-10:]
            await close_all(people, server)
        asyncio.run(run())
    finally:
        server.stop()


def test_mcu_receiver_side_mute_takes_a_sender_out_of_one_listeners_mix():
    """§10.5: in an MCU room alice mutes bob for herself: her mix keeps carol's tone
    and loses bob's; carol still hears both alice and bob."""
    server = Server(env_overrides={"TESSERA_MIXER_WIDTH": "320", "TESSERA_MIXER_HEIGHT": "240", "TESSERA_MIXER_FPS": "10"})
    try:
        async def run():
            url = room_url(server)
            people = [Participant(url, n, "mute-mix", c, hz, mode="mcu") for n, c, hz in PEOPLE]
            for p in people:
                await p.join()
                await p.publish()
            alice, bob, carol = people

            def hears(p, seconds=1.0):
                rec = p.recorder("$mcu")
                if rec is None or len(rec.audio) < 48000 * seconds:
                    return None
                audio = rec.audio[-int(48000 * seconds):]
                return {q.name: tone_level(audio, q.hz) for q in people}
            assert await wait_for(lambda: all((h := hears(p)) and all(h[q.name] > 0.3 for q in people if q is not p)
                                              for p in people), 30), [hears(p) for p in people]
            r = await asyncio.to_thread(alice.socket.result, "muteSubscribedMedia", {"sender": "bob_webcam", "kind": "audio"})
            assert r["muted"] is True
            await asyncio.sleep(1.5)
            assert await wait_for(lambda: (h := hears(alice)) and h["bob"] < 0.05 and h["carol"] > 0.3, 10), hears(alice)
            h = hears(carol)
            assert h["alice"] > 0.3 and h["bob"] > 0.3, h  # nobody else is affected
            await asyncio.to_thread(alice.socket.result, "unmuteSubscribedMedia", {"sender": "bob_webcam"})
            assert await wait_for(lambda: (h := hears(alice)) and h["bob"] > 0.3 and h["carol"] > 0.3, 10), hears(alice)
            await close_all(people, server)
        asyncio.run(run())
    finally:
        server.stop()


def test_a_muted_publisher_stays_muted_for_later_joiners_and_after_a_switch():
    """carol mutes her microphone in a hybrid room. dave, who joins afterwards, and
    alice, after the switch to SFU, see her picture and do not hear her tone; when she
    unmutes, both hear it (so the check can fail)."""
    server = Server(env_overrides={"TESSERA_MIXER_WIDTH": "320", "TESSERA_MIXER_HEIGHT": "240", "TESSERA_MIXER_FPS": "10"})
    try:
        async def run():
            url = room_url(server)
            alice = Participant(url, "alice", "muted", PEOPLE[0][1], PEOPLE[0][2], mode="hybrid")
            carol = Participant(url, "carol", "muted", PEOPLE[2][1], PEOPLE[2][2])
            for p in (alice, carol):
                await p.join()
                await p.publish()
            await asyncio.to_thread(carol.socket.result, "streamPropertyChanged",
                                    {"streamId": "webcam", "property": "audioActive", "newValue": False})
            await asyncio.to_thread(alice.socket.result, "setRoomMode", {"mode": "sfu"})
            dave = Participant(url, "dave", "muted", (200, 200, 40), 900)
            await dave.join()

            def carol_level(p, seconds=1.0):
                rec = p.recorder("carol")
                if rec is None or rec.video_frames < 20 or rec.last_rgb is None:
                    return None
                if not colour_close(centre_colour(rec.last_rgb), carol.colour):
                    return None
                audio = rec.audio[-int(48000 * seconds):]
                return tone_level(audio, carol.hz) if len(audio) >= 4800 else 0.0

            for p in (alice, dave):
                assert await wait_for(lambda: carol_level(p) is not None, 25), f"{p.name} does not see carol"
            await asyncio.sleep(2.0)
            for p in (alice, dave):
                assert carol_level(p) < 0.05, f"{p.name} hears muted carol: {carol_level(p)}"
            await asyncio.to_thread(carol.socket.result, "streamPropertyChanged",
                                    {"streamId": "webcam", "property": "audioActive", "newValue": True})
            for p in (alice, dave):
                assert await wait_for(lambda: (carol_level(p) or 0) > 0.3, 10), f"{p.name} does not hear carol: {carol_level(p)}"
            await close_all([alice, carol, dave], server)
        asyncio.run(run())
    finally:
        server.stop()


def test_room_switches_sfu_mcu_hybrid_sfu_with_media_checked():
    server = Server(env_overrides={"TESSERA_MIXER_WIDTH": "640", "TESSERA_MIXER_HEIGHT": "360", "TESSERA_MIXER_FPS": "15"})
    try:
        async def run():
            url = room_url(server)
            people = [Participant(url, n, "switching", c, hz, extensions=["mode", "layout", "speaking"]) for n, c, hz in PEOPLE]
            for p in people:
                await p.join()
                await p.publish()
            await check_sfu_view(people)
            moderator = people[0]
            for target, check in [("mcu", check_mcu_view), ("hybrid", check_hybrid_view), ("sfu", None)]:
                started = time.time()
                r = await asyncio.to_thread(moderator.socket.result, "setRoomMode", {"mode": target})
                assert r["mode"] == target, r
                if check:
                    await check(people)
                else:
                    await check_sfu_view(people)
                    for p in people:
                        assert await wait_for(lambda: "$mcu" not in p.subscriptions, 10), list(p.subscriptions)
                assert await wait_for(lambda: any(n.get("method") == "roomModeChanged" and n["params"]["mode"] == target
                                                  and n["params"]["phase"] == "completed" for n in moderator.notes), 10)
                print(f"switched to {target} with media checked in {time.time() - started:.1f} s")
                if target == "mcu":
                    # Extension clients learn the tile geometry and who is speaking (all three send a tone).
                    layouts = [n["params"] for n in moderator.notes if n.get("method") == "layoutChanged"]
                    assert layouts and sorted(t["id"] for t in layouts[-1]["tiles"]) == ["alice", "bob", "carol"], layouts
                    assert await wait_for(lambda: {n["params"]["id"] for n in moderator.notes
                                                   if n.get("method") == "participantSpeaking" and n["params"]["speaking"]} >= {"bob", "carol"}, 5)
                    assert await wait_for(lambda: any(n.get("method") == "dominantSpeakerChanged" for n in moderator.notes), 5)
                    # A custom layout: bob full canvas, alice and carol small on top of him.
                    r = await asyncio.to_thread(moderator.socket.result, "setLayout", {"layout": "custom", "tiles": [
                        {"id": "bob", "x": 0, "y": 0, "w": 1, "h": 1, "z": 0},
                        {"id": "alice", "x": 0.05, "y": 0.05, "w": 0.25, "h": 0.25, "z": 1},
                        {"id": "carol", "x": 0.7, "y": 0.7, "w": 0.25, "h": 0.25, "z": 1}]})
                    assert r["layout"] == "custom"

                    def bob_fills_centre():
                        rec = moderator.recorder("$mcu")
                        return rec.last_rgb is not None and colour_close(centre_colour(rec.last_rgb), PEOPLE[1][1])
                    assert await wait_for(bob_fills_centre, 10), centre_colour(moderator.recorder("$mcu").last_rgb)
                    # Only bob: alice and carol are hidden, and the mixer stops decoding them. Hidden
                    # for longer than the freeze time (3 s), they come back as placeholders, so their
                    # colours can only return through fresh keyframes, which the mixer asks for.
                    await asyncio.to_thread(moderator.socket.result, "setLayout", {"layout": "custom", "tiles": [
                        {"id": "bob", "x": 0, "y": 0, "w": 1, "h": 1, "z": 0}]})
                    mix = moderator.recorder("$mcu")
                    assert await wait_for(lambda: bob_fills_centre() and not colour_present(mix.last_rgb, PEOPLE[0][1])
                                          and not colour_present(mix.last_rgb, PEOPLE[2][1]), 10)
                    await asyncio.sleep(4)
                    shown = time.time()
                    await asyncio.to_thread(moderator.socket.result, "setLayout", {"layout": "grid"})
                    assert await wait_for(lambda: all(colour_present(mix.last_rgb, p.colour) for p in people), 10), \
                        [p.name for p in people if not colour_present(mix.last_rgb, p.colour)]
                    print(f"hidden participants shown again in {time.time() - shown:.2f} s")
            await close_all(people, server)
        asyncio.run(run())
    finally:
        server.stop()


async def sfu_pair_recording(server, room, params):
    """alice and bob publish in an SFU room and see each other; alice starts a recording."""
    url = room_url(server)
    people = [Participant(url, n, room, c, hz, extensions=["recording"]) for n, c, hz in PEOPLE[:2]]
    for p in people:
        await p.join()
        await p.publish()
    await check_sfu_view(people)
    r = await asyncio.to_thread(people[0].socket.result, "startRecording", params)
    assert r["status"] == "started", r
    return people, r


def test_room_recording_of_an_sfu_room(tmp_path):
    """startRecording in an SFU room mixes for the recorder only; the file has both
    participants' tiles and tones, and the participants keep their SFU streams."""
    import subprocess
    server = Server(env_overrides={"TESSERA_MIXER_WIDTH": "640", "TESSERA_MIXER_HEIGHT": "360", "TESSERA_MIXER_FPS": "15"})
    try:
        async def run():
            people, r = await sfu_pair_recording(server, "rec-room", {"name": "demo", "format": "webm"})
            started = time.time()
            await asyncio.sleep(5)
            stopped = await asyncio.to_thread(people[0].socket.result, "stopRecording", {"id": r["id"]})
            elapsed = time.time() - started
            assert stopped["status"] == "stopped" and stopped["size"] > 10000, stopped
            # The notification was sent before the answer; the client's reader may take a moment to file it.
            assert await wait_for(lambda: any(n.get("method") == "recordingStopped" for n in people[0].notes), 5)
            # SFU streams were never interrupted.
            assert set(people[0].subscriptions) == {"bob"}
            path = stopped["uri"][len("file://"):]
            probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                                              capture_output=True, text=True, check=True).stdout)
            codecs = sorted(s["codec_name"] for s in probe["streams"])
            assert codecs == ["opus", "vp8"], codecs
            duration = float(probe["format"]["duration"])
            assert abs(duration - elapsed) < 1.0, (duration, elapsed)
            frame = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{duration / 2:.2f}", "-i", path, "-frames:v", "1",
                                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
            import numpy as np
            rgb = np.frombuffer(frame, dtype=np.uint8).reshape(360, 640, 3)
            for p in people:
                assert colour_present(rgb, p.colour), p.name
            pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                                 capture_output=True, check=True).stdout
            audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
            middle = audio[len(audio) // 2 - 24000: len(audio) // 2 + 24000]
            for p in people:
                assert tone_level(middle, p.hz) > 0.3, (p.name, tone_level(middle, p.hz))
            print(f"recorded {duration:.2f} s of {elapsed:.2f} s: {codecs}")
            for p in people:
                await p.close()
        asyncio.run(run())
    finally:
        server.stop()


def test_room_recording_of_each_participant():
    """startRecording {target: participants}: one file per publisher, straight from
    its stream (nothing mixed): each file has that participant's colour and tone
    and not the other's."""
    import subprocess
    import numpy as np
    server = Server()
    try:
        async def run():
            people, r = await sfu_pair_recording(server, "rec-each", {"target": "participants", "name": "each"})
            assert r["target"] == "participants", r
            started = time.time()
            await asyncio.sleep(4)
            stopped = await asyncio.to_thread(people[0].socket.result, "stopRecording", {"id": r["id"]})
            elapsed = time.time() - started
            files = {f["user"]: f for f in stopped["files"]}
            assert sorted(files) == ["alice", "bob"], stopped
            for p in people:
                other = [q for q in people if q is not p][0]
                path = files[p.name]["uri"][len("file://"):]
                probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                                                  capture_output=True, text=True, check=True).stdout)
                assert sorted(s["codec_name"] for s in probe["streams"]) == ["opus", "vp8"], probe["streams"]
                duration = float(probe["format"]["duration"])
                assert abs(duration - elapsed) < 1.0, (p.name, duration, elapsed)
                width = int([s for s in probe["streams"] if s["codec_type"] == "video"][0]["width"])
                height = int([s for s in probe["streams"] if s["codec_type"] == "video"][0]["height"])
                frame = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{duration / 2:.2f}", "-i", path, "-frames:v", "1",
                                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
                rgb = np.frombuffer(frame, dtype=np.uint8).reshape(height, width, 3)
                assert colour_close(centre_colour(rgb), p.colour), (p.name, centre_colour(rgb))
                pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                                     capture_output=True, check=True).stdout
                audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
                middle = audio[len(audio) // 2 - 24000: len(audio) // 2 + 24000]
                assert tone_level(middle, p.hz) > 0.5 and tone_level(middle, other.hz) < 0.05, p.name
                print(f"{p.name}: {duration:.2f} s of {elapsed:.2f} s, {width}x{height}")
            await close_all(people, server)
        asyncio.run(run())
    finally:
        server.stop()


def test_a_muted_participant_is_silent_in_its_own_recording_file():
    """bob mutes his microphone during a participants recording: his file keeps its
    length and his picture, and the second half has no tone; alice's file is unaffected."""
    import subprocess
    import numpy as np
    server = Server()
    try:
        async def run():
            people, r = await sfu_pair_recording(server, "rec-mute", {"target": "participants", "name": "muted"})
            alice, bob = people
            await asyncio.sleep(3)
            await asyncio.to_thread(bob.socket.result, "streamPropertyChanged",
                                    {"streamId": "webcam", "property": "audioActive", "newValue": False})
            await asyncio.sleep(3)
            stopped = await asyncio.to_thread(alice.socket.result, "stopRecording", {"id": r["id"]})
            files = {f["user"]: f["uri"][len("file://"):] for f in stopped["files"]}
            levels = {}
            for name, path in files.items():
                pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                                     capture_output=True, check=True).stdout
                audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
                person = alice if name == "alice" else bob
                first, last = audio[48000:96000], audio[-72000:-24000]
                levels[name] = (tone_level(first, person.hz), tone_level(last, person.hz), float(np.abs(last).mean()))
                duration = float(json.loads(subprocess.run(
                    ["ffprobe", "-v", "error", "-show_format", "-of", "json", path], capture_output=True, text=True, check=True
                ).stdout)["format"]["duration"])
                assert duration > 5.0, (name, duration)
            print("tone levels (first second, last second, mean amplitude at the end):", levels)
            assert levels["alice"][0] > 0.5 and levels["alice"][1] > 0.5, levels
            assert levels["bob"][0] > 0.5, levels
            assert levels["bob"][2] < 50, levels  # silence, not his 500 Hz tone
            await close_all(people, server)
        asyncio.run(run())
    finally:
        server.stop()
