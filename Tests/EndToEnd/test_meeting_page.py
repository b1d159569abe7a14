"""The meeting page (/demo) in three headless Chromiums, driven as a user
would (clicks, the chat box, the mode menu) over the DevTools protocol:
each sees the others' colours (decoded pixels), the names drawn over the
mixed picture sit on the tiles the server reported, chat arrives as text,
a mute shows its icon elsewhere and silences the tone, the recording
indicator shows for everyone, a participant without camera joins to watch,
and when the server restarts the pages join again by themselves.
Screenshots of each state go to $TESSERA_ARTIFACTS (default
.build/e2e-artifacts/meeting), for a reviewer to look at."""
import asyncio
import os
import time
import urllib.request

from cdp import Browser
from conftest import REPO, Server
from media import colour_close, wait_for_sync
from test_chromium import CHROME, make_inputs

PEOPLE = {"alice": ((220, 40, 40), 440), "bob": ((40, 190, 60), 660), "carol": ((40, 80, 230), 880)}
SHOTS = os.environ.get("TESSERA_ARTIFACTS", os.path.join(REPO, ".build", "e2e-artifacts", "meeting"))


def page_url(server, user, extra=""):
    return f"http://127.0.0.1:{server.port}/demo?room=meet&user={user}&mode=sfu&report=1{extra}"


def sees_colours(status, others):
    """The page decodes each of `others` in its colour, and shows that video (its tile is not
    covered by the no-video avatar)."""
    colours = status.get("colours", {})
    return all(o in colours and colour_close(colours[o], PEOPLE[o][0], 50) and o not in status.get("covered", [o])
               for o in others)


def shoot(browsers, state):
    for name, b in browsers.items():
        try:
            b.screenshot(os.path.join(SHOTS, f"{state}-{name}.png"))
        except Exception as error:  # a screenshot is for people; it never fails the test
            print("screenshot", state, name, error)


def set_select(browser, select, value):
    browser.eval(f"(() => {{ const s = document.getElementById({select!r}); s.value = {value!r}; s.dispatchEvent(new Event('change')); }})()")


def test_meeting_page_with_three_people(tmp_path):
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    server = Server()
    port = server.port
    browsers = {}
    try:
        # The page is one module plus the room client, served with a strict policy.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo", timeout=5) as r:
            csp = r.headers["Content-Security-Policy"]
            html = r.read().decode()
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp, csp
        assert 'name="viewport"' in html and "/demo/meeting.js" in html
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=5) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg")

        for name, (rgb, hz) in PEOPLE.items():
            folder = tmp_path / name
            folder.mkdir()
            video, audio = make_inputs(str(folder), rgb, hz)
            browsers[name] = Browser(tmp_path, name, page_url(server, name), video, audio)
            # One at a time: the first makes the room.
            wait_for_sync(lambda: browsers[name].latest.get("published"), 30)

        # SFU: everyone decodes everyone else's colour.
        for name, b in browsers.items():
            others = [o for o in PEOPLE if o != name]
            assert wait_for_sync(lambda: sees_colours(b.status(), others), 60), (name, b.status())
            assert sorted(b.status()["people"]) == others
            # Nobody who publishes is listed as only watching.
            assert b.eval("document.querySelectorAll('#people .tag').length") == 0 or \
                b.eval("[...document.querySelectorAll('#people li')].every(li => !li.dataset.id || !li.textContent.includes('watching'))"), \
                b.eval("document.getElementById('people').textContent")
            # Chromium sends the audio level extension: the server's speaking events ring the tiles.
            assert wait_for_sync(lambda: len(b.status()["speakingShown"]) >= 1, 20), (name, b.status()["speakingShown"])
        shoot(browsers, "1-sfu")

        # Alice picks her camera again from the toolbar's menu: a new track is sent in place of the
        # old one (no renegotiation), and the others keep decoding her.
        assert browsers["alice"].eval("!document.getElementById('cameraSwitch').hidden && document.getElementById('cameraSwitch').options.length >= 1")
        set_select(browsers["alice"], "cameraSwitch", browsers["alice"].eval("document.getElementById('cameraSwitch').options[0].value"))
        assert wait_for_sync(lambda: browsers["alice"].status().get("deviceSwitches") == 1, 10), browsers["alice"].status()["errors"]
        frames = browsers["bob"].status()["frames"]["alice"]
        assert wait_for_sync(lambda: browsers["bob"].status()["frames"]["alice"] > frames + 30
                             and sees_colours(browsers["bob"].status(), ["alice"]), 20), browsers["bob"].status()

        # Chat: text arrives everywhere, markup stays text.
        attack = '<img src=x onerror="window.tesseraDemo.pwned=true">'
        for text in ("hello from alice", attack):
            browsers["alice"].eval(f"document.getElementById('chatText').value = {text!r}; document.getElementById('chatForm').requestSubmit()")
            time.sleep(0.3)
        for name, b in browsers.items():
            assert wait_for_sync(lambda: [m["text"] for m in b.status()["chat"]] == ["hello from alice", attack], 10), (name, b.status()["chat"])
            s = b.status()
            assert s["chatElements"] == 0 and not s.get("pwned"), s
        shoot(browsers, "2-chat")

        # Mute: bob's microphone off shows on the others' pages, and his tone is gone there.
        def hears(status, who, hz):
            a = status.get("audio", {}).get(who)
            return a is not None and a["rms"] > 0.005 and abs(a["hz"] - hz) < 20
        for name in ("alice", "carol"):
            assert wait_for_sync(lambda: hears(browsers[name].status(), "bob", 660), 20), browsers[name].status().get("audio")
        browsers["bob"].click("#micButton")
        assert wait_for_sync(lambda: browsers["bob"].eval("document.getElementById('micButton').getAttribute('aria-pressed')") == "true", 10)
        for name in ("alice", "carol"):
            b = browsers[name]
            assert wait_for_sync(lambda: "bob" in b.status()["mutedShown"], 10), b.status()
            assert b.eval("!!document.querySelector('.tile[data-key=\"bob\"] .mic-off')"), "no mute icon on bob's tile"
            assert wait_for_sync(lambda: (b.status()["audio"].get("bob") or {}).get("rms", 1) < 0.002, 10), b.status()["audio"]
        # The other tones still play: it is bob who went quiet, not the analysis.
        assert hears(browsers["alice"].status(), "carol", 880), browsers["alice"].status()["audio"]
        shoot(browsers, "3-muted")
        browsers["bob"].click("#micButton")
        assert wait_for_sync(lambda: "bob" not in browsers["alice"].status()["mutedShown"], 10)

        # A moderator (everyone, on a server without tokens) mutes carol from the people list:
        # carol's page says so and her own unmute is refused (307), the others show her muted.
        browsers["alice"].click('#people li[data-id="carol"] button')
        carol = browsers["carol"]
        assert wait_for_sync(lambda: carol.eval("document.getElementById('micButton').getAttribute('aria-pressed')") == "true", 10)
        assert "moderator" in carol.eval("document.getElementById('banner').textContent")
        assert wait_for_sync(lambda: "carol" in browsers["bob"].status()["mutedShown"], 10)
        carol.click("#micButton")
        assert wait_for_sync(lambda: "cannot turn it back on" in carol.eval("document.getElementById('banner').textContent"), 10)
        assert carol.eval("document.getElementById('micButton').getAttribute('aria-pressed')") == "true"

        # MCU: the mixed picture, with each name over its own tile.
        set_select(browsers["alice"], "modeSelect", "mcu")

        def overlays_on_tiles(status):
            if status.get("view") != "composite" or len(status.get("layoutTiles", [])) != 3:
                return False
            tiles = {t["key"]: t for t in status["layoutTiles"]}
            drawn = {o["key"]: o for o in status.get("overlays", [])}
            if set(drawn) != set(tiles):
                return False
            for key, t in tiles.items():
                o = drawn[key]
                if any(abs(o[k] - t[k]) > 0.01 for k in ("x", "y", "w", "h")) or key not in o["label"]:
                    return False
                # The picture under the name is that person's colour.
                c = status.get("compositeColours", {}).get(key)
                if c is None or not colour_close(c, PEOPLE[key][0], 60):
                    return False
            return True
        for name, b in browsers.items():
            assert wait_for_sync(lambda: overlays_on_tiles(b.status()), 60), (name, b.status())
            # Everyone plays a tone: the mixer reports speakers, and the page rings their tiles.
            assert wait_for_sync(lambda: b.eval("document.querySelectorAll('.overlay.speaking, .overlay.dominant').length") >= 1, 20), \
                (name, b.status()["speakingShown"])
        shoot(browsers, "4-mcu")

        # A click on carol's tile makes it large for everyone (a custom layout); again, back to the grid.
        browsers["alice"].click('.overlay[data-key="carol"]')
        for name, b in browsers.items():
            assert wait_for_sync(lambda: any(t["key"] == "carol" and t["w"] > 0.7 for t in b.status()["layoutTiles"])
                                 and overlays_on_tiles(b.status()), 30), (name, b.status())
        shoot(browsers, "5-pinned")
        browsers["alice"].click('.overlay[data-key="carol"]')
        assert wait_for_sync(lambda: all(t["w"] < 0.7 for t in browsers["bob"].status()["layoutTiles"]), 30)

        # Recording: the indicator shows on every page, and goes when it stops.
        browsers["alice"].click("#recordButton")
        for name, b in browsers.items():
            assert wait_for_sync(lambda: b.status()["recordingShown"], 20), (name, b.status())
            assert b.eval("!document.getElementById('recordingBadge').hidden")
        shoot(browsers, "6-recording")
        browsers["alice"].click("#recordButton")
        for b in browsers.values():
            assert wait_for_sync(lambda: not b.status()["recordingShown"], 20)

        # Hybrid: videos on their own again, the sound from the server's mix (one stream from $mcu).
        set_select(browsers["alice"], "modeSelect", "hybrid")
        for name, b in browsers.items():
            others = [o for o in PEOPLE if o != name]
            assert wait_for_sync(lambda: b.status()["view"] == "grid" and b.status()["mode"] == "hybrid"
                                 and sees_colours(b.status(), others)
                                 and (b.status()["audio"].get("$mcu") or {}).get("rms", 0) > 0.005, 60), (name, b.status())
        shoot(browsers, "6b-hybrid")

        # Back to SFU: the grid again.
        set_select(browsers["alice"], "modeSelect", "sfu")
        for name, b in browsers.items():
            others = [o for o in PEOPLE if o != name]
            assert wait_for_sync(lambda: b.status()["view"] == "grid" and sees_colours(b.status(), others), 60), (name, b.status())

        # Carol leaves; dave joins without camera or microphone: he sees and is seen in the list.
        browsers["carol"].click("#leaveButton")
        assert wait_for_sync(lambda: "carol" not in browsers["alice"].status()["people"], 15)
        browsers.pop("carol").close()
        # Dave is on a phone-sized window: the page fits it (no sideways scrolling).
        browsers["dave"] = Browser(tmp_path, "dave", page_url(server, "dave", "&camera=0"), size=(390, 844))
        assert wait_for_sync(lambda: sees_colours(browsers["dave"].status(), ["alice", "bob"]), 60), browsers["dave"].status()
        assert not browsers["dave"].status()["published"]
        assert browsers["dave"].eval("document.documentElement.scrollWidth <= innerWidth + 1"), \
            browsers["dave"].eval("[document.documentElement.scrollWidth, innerWidth]")
        for name in ("alice", "bob"):
            assert wait_for_sync(lambda: "dave" in browsers[name].status()["people"], 10), browsers[name].status()
        shoot(browsers, "7-watching")

        # The server stops: the pages say so; it comes back on the same port: they join again by themselves.
        server.stop()
        for name, b in browsers.items():
            assert wait_for_sync(lambda: b.status()["connection"] in ("reconnecting", "disconnected"), 15), (name, b.status()["connection"])
        shoot(browsers, "8-server-gone")
        server = Server(port=port)
        for name, b in browsers.items():
            others = [o for o in ("alice", "bob") if o != name]
            assert wait_for_sync(lambda: b.status()["rejoins"] >= 1 and b.status()["connection"] == "connected"
                                 and sees_colours(b.status(), others), 60), (name, b.status())
        assert sorted(browsers["alice"].status()["people"]) == ["bob", "dave"], browsers["alice"].status()["people"]
        shoot(browsers, "9-back")
        print("meeting page screenshots in", SHOTS)
    finally:
        for b in browsers.values():
            b.close()
        server.stop()
