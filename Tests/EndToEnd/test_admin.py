"""The HTTP admin API (/admin, bearer key) against real rooms of aiortc peers."""
import asyncio
import json
import urllib.error
import urllib.request

from conftest import Server
from media import wait_for
from room_client import Participant
from test_rooms import PEOPLE, check_sfu_view, close_all, objects, room_url

KEY = "operator-key"


def admin(server, method, path, body=None, key=KEY):
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}/admin{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, json.loads(text) if text.startswith("{") else text


def test_no_key_configured_means_no_admin_api(server):
    status, _ = admin(server, "GET", "/rooms")
    assert status == 404


def test_admin_api_with_real_peers():
    server = Server(env_overrides={"TESSERA_ADMIN_KEY": KEY})
    try:
        async def run():
            url = room_url(server)
            people = [Participant(url, n, "adm", c, hz) for n, c, hz in PEOPLE]
            for p in people:
                await p.join()
                await p.publish()
            await check_sfu_view(people)
            alice, bob, carol = people

            assert admin(server, "GET", "/rooms", key=None)[0] == 401
            assert admin(server, "GET", "/rooms", key="wrong")[0] == 401
            status, listing = admin(server, "GET", "/rooms")
            assert status == 200 and listing["rooms"] == [
                {"name": "adm", "mode": "sfu", "participants": 3, "publishers": 3, "recording": False}], listing
            status, room = admin(server, "GET", "/rooms/adm")
            assert status == 200 and [p["name"] for p in room["participants"]] == ["alice", "bob", "carol"]
            assert sorted(next(p for p in room["participants"] if p["name"] == "alice")["subscriptions"]) == ["bob", "carol"]
            assert admin(server, "GET", "/rooms/nope")[0] == 404
            # The room's media, summed over its endpoints (per room here, not in /metrics).
            status, media = admin(server, "GET", "/rooms/adm/media")
            assert status == 200 and media["endpoints"] == 9 and media["packetsIn"] > 0 and media["packetsOut"] > 0, media
            assert sorted(media["publishers"]) == ["alice", "bob", "carol"] and media["lossIn"] < 0.05, media
            assert admin(server, "GET", "/rooms/nope/media")[0] == 404

            # Mute carol's audio: the others stop hearing her, and she is told.
            status, _ = admin(server, "POST", "/rooms/adm/participants/carol/mute", {"kind": "audio", "muted": True})
            assert status == 200
            assert await wait_for(lambda: any(n.get("method") == "streamPropertyChanged" and n["params"]["reason"] == "forceMute"
                                              for n in carol.notes), 5)
            assert admin(server, "POST", "/rooms/adm/participants/carol/mute", {"kind": "smell", "muted": True})[0] == 400
            assert admin(server, "POST", "/rooms/adm/participants/carol/mute", "not an object")[0] == 400

            # Remove bob: he is told, the others are told, and his media stops everywhere.
            before = objects(server)
            status, r = admin(server, "DELETE", "/rooms/adm/participants/bob")
            assert status == 200 and r["removed"] == "bob"
            assert await wait_for(lambda: any(n.get("method") == "participantEvicted" for n in bob.notes), 5), bob.notes
            for p in (alice, carol):
                assert await wait_for(lambda: any(n.get("method") == "participantLeft" and n["params"]["name"] == "bob"
                                                  for n in p.notes), 5)
                assert await wait_for(lambda: p.recorder("bob") is None, 5)
            # bob's publisher and the two subscriptions to him, and his two subscriptions, are gone.
            assert await wait_for(lambda: objects(server) == before - 5, 5), (before, objects(server))
            assert admin(server, "DELETE", "/rooms/adm/participants/bob")[0] == 404

            # Mode and recording through the API.
            status, r = admin(server, "PUT", "/rooms/adm/mode", {"mode": "mcu"})
            assert status == 200 and r["mode"] == "mcu", r
            assert admin(server, "PUT", "/rooms/adm/mode", {"mode": "warp"})[0] == 400
            status, rec = admin(server, "POST", "/rooms/adm/recording", {"name": "weekly"})
            assert status == 200 and rec["status"] == "started", rec
            assert admin(server, "POST", "/rooms/adm/recording", {})[0] == 409
            await asyncio.sleep(2)
            status, done = admin(server, "DELETE", "/rooms/adm/recording")
            assert status == 200 and done["status"] == "stopped" and done["size"] > 0, done

            # Close the room: everyone is told and everything is released.
            status, r = admin(server, "DELETE", "/rooms/adm")
            assert status == 200 and r["participants"] == 2
            for p in (alice, carol):
                assert await wait_for(lambda: any(n.get("method") == "roomClosed" for n in p.notes), 5)
            assert await wait_for(lambda: objects(server) == 0, 10), objects(server)
            assert admin(server, "GET", "/rooms")[1]["rooms"] == []
            for p in people:
                await p.close(leave=False)
        asyncio.run(run())
    finally:
        server.stop()
