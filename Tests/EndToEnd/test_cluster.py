"""A cluster of Tessera nodes on one PostgreSQL (docs/cluster.md), with real
processes: PostgreSQL started here in a temporary directory, three tessera
nodes, and aiortc participants connected to different nodes. A room lives on
one node; the others relay its signalling, and media goes straight to the
room's node."""
import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from cluster_support import PEOPLE, SMALL_MIXER, cluster, holder, objects, publishers_on, start_nodes, stop_all, switch_and_check
from conftest import BIN, REPO, Server, free_port
from media import centre_colour, colour_close, wait_for, wait_for_sync
from pg import Postgres
from room_client import Participant, RoomSocket
from test_chromium import CHROME, make_inputs, open_page
from test_rooms import check_mcu_view, check_sfu_view, room_url

def test_three_nodes_one_room_in_sfu_mcu_and_hybrid_modes():
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg)
        # Every node sees the three, each with its address.
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10), [cluster(n) for n in nodes]
        # The same view in the admin API, behind its key.
        admin = f"http://127.0.0.1:{nodes[1].port}/admin/cluster"
        view = json.loads(urllib.request.urlopen(urllib.request.Request(admin, headers={"Authorization": "Bearer k"}), timeout=5).read())
        assert view["node"] == "n2" and [n["id"] for n in view["nodes"]] == ["n1", "n2", "n3"], view
        try:
            urllib.request.urlopen(admin, timeout=5)
            raise AssertionError("the admin API answered without its key")
        except urllib.error.HTTPError as e:
            assert e.code == 401
        assert [n["url"] for n in cluster(nodes[2])["nodes"]] == [f"ws://127.0.0.1:{n.port}" for n in nodes]

        async def run():
            # alice on n1, bob on n2, carol on n3: the room is n1's, where its first join came.
            people = await publishers_on(nodes, "townhall", ["mode", "layout", "speaking"])
            assert [holder(n, "townhall") for n in nodes] == ["n1", "n1", "n1"]
            await check_sfu_view(people)
            # Media is all on the room's node: the others hold no media object.
            assert objects(nodes[0]) > 0 and objects(nodes[1]) == 0 and objects(nodes[2]) == 0, [objects(n) for n in nodes]
            print("objects per node while the room runs:", [objects(n) for n in nodes])

            # The mode switches reach everyone, whatever node they came through.
            await switch_and_check(people[1], people, ["mcu", "hybrid"])  # bob is on n2: his requests are relayed
            assert cluster(nodes[0])["nodes"][0]["mixers"] == 1
            for p in people:
                await p.close()
            assert await wait_for(lambda: objects(nodes[0]) == 0, 10), objects(nodes[0])
        asyncio.run(run())
        # The room is gone: its lease is dropped at n1's next heartbeat.
        assert wait_for_sync(lambda: holder(nodes[2], "townhall") is None, 10), cluster(nodes[2])
        rows = pg.sql("SELECT node_id FROM tessera_nodes ORDER BY node_id")
        assert rows == [["n1"], ["n2"], ["n3"]], rows
    finally:
        stop_all(nodes, pg)


def test_a_full_node_places_a_new_room_on_the_least_loaded_one():
    pg = Postgres()
    nodes = []
    try:
        # Each node takes rooms while it holds fewer than one participant.
        nodes = start_nodes(pg, extra={"TESSERA_CLUSTER_PARTICIPANTS_PER_NODE": "1"})
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)

        async def run():
            alice = Participant(room_url(nodes[0]), "alice", "first", *PEOPLE[0][1:])
            await alice.join()
            await alice.publish()
            assert holder(nodes[0], "first") == "n1"
            assert wait_for_sync(lambda: cluster(nodes[0])["nodes"][0]["participants"] == 1, 5)
            # n1 is full: the next new room asked of it goes to n2 or n3, whichever is least loaded.
            bob = Participant(room_url(nodes[0]), "bob", "second", *PEOPLE[1][1:])
            carol = Participant(room_url(nodes[2]), "carol", "second", *PEOPLE[2][1:])
            await bob.join()
            await bob.publish()
            await carol.join()
            await carol.publish()
            placed = holder(nodes[1], "second")
            assert placed in ("n2", "n3"), cluster(nodes[1])
            await check_sfu_view([bob, carol])
            print("room 'second', asked of n1, placed on", placed)
            for p in (alice, bob, carol):
                await p.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)


def test_the_room_moves_to_a_live_node_when_its_node_dies():
    """SIGKILL of the room's node: the participants relayed through the other
    two are told (`roomMoved`, extension `cluster`), rejoin through the same
    nodes once the dead node's lease has run out, and see each other again."""
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg)
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)

        async def run():
            # dave's join comes first, to n2: the room is n2's. alice and carol come through n1 and n3.
            dave = Participant(room_url(nodes[1]), "dave", "moving", (200, 200, 40), 900)
            alice = Participant(room_url(nodes[0]), "alice", "moving", *PEOPLE[0][1:], extensions=["cluster"])
            carol = Participant(room_url(nodes[2]), "carol", "moving", *PEOPLE[2][1:], extensions=["cluster"])
            for p in (dave, alice, carol):
                await p.join()
                await p.publish()
            assert holder(nodes[0], "moving") == "n2"
            await check_sfu_view([dave, alice, carol])

            nodes[1].proc.kill()
            killed = time.time()
            assert await wait_for(lambda: alice.socket.closed and carol.socket.closed, 10)
            told = time.time() - killed
            for p in (alice, carol):
                moved = [n["params"] for n in p.notes if n.get("method") == "roomMoved"]
                assert moved == [{"room": "moving", "node": "n2", "reason": "nodeLost"}], (p.name, moved)
            await asyncio.gather(alice.rejoin(), carol.rejoin())
            rejoined = time.time() - killed
            await check_sfu_view([alice, carol])
            seen = time.time() - killed
            placed = holder(nodes[0], "moving")
            assert placed in ("n1", "n3"), cluster(nodes[0])
            assert [n["id"] for n in cluster(nodes[2])["nodes"]] == ["n1", "n3"]
            print(f"node n2 killed: clients told after {told:.1f} s, rejoined on {placed} after {rejoined:.1f} s, "
                  f"media checked both ways after {seen:.1f} s")
            for p in (alice, carol):
                await p.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)


def test_a_draining_node_sends_its_participants_to_another_node():
    """SIGTERM of the room's node with cluster.drainSeconds: it takes no new
    room, lets its room go and tells everyone (`roomMoved`, reason draining,
    with another node's URL); its participants rejoin at once, the one that
    was connected to it at the URL given, and the node then stops cleanly."""
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, extra={"TESSERA_CLUSTER_DRAIN_SECONDS": "4"})
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)

        async def run():
            dave = Participant(room_url(nodes[1]), "dave", "upkeep", (200, 200, 40), 900, extensions=["cluster"])
            alice = Participant(room_url(nodes[0]), "alice", "upkeep", *PEOPLE[0][1:], extensions=["cluster"])
            carol = Participant(room_url(nodes[2]), "carol", "upkeep", *PEOPLE[2][1:], extensions=["cluster"])
            for p in (dave, alice, carol):
                await p.join()
                await p.publish()
            assert holder(nodes[0], "upkeep") == "n2"
            await check_sfu_view([dave, alice, carol])

            nodes[1].proc.terminate()
            started = time.time()
            people = (dave, alice, carol)
            assert await wait_for(lambda: all(p.socket.closed for p in people), 10)
            moved = {p.name: [n["params"] for n in p.notes if n.get("method") == "roomMoved"] for p in people}
            for name, notices in moved.items():
                assert len(notices) == 1 and notices[0]["reason"] == "draining" and notices[0]["node"] == "n2", (name, notices)
            url = moved["dave"][0]["url"]
            assert url in (room_url(nodes[0]), room_url(nodes[2])), url
            assert wait_for_sync(lambda: [n["draining"] for n in cluster(nodes[0])["nodes"] if n["id"] == "n2"] in ([True], []), 5)
            # Nobody waits for a lease: the draining node let the room go.
            await asyncio.gather(alice.rejoin(), carol.rejoin(), dave.rejoin(url))
            rejoined = time.time() - started
            await check_sfu_view([dave, alice, carol])
            seen = time.time() - started
            placed = holder(nodes[0], "upkeep")
            assert placed in ("n1", "n3"), cluster(nodes[0])
            print(f"n2 drained: everyone rejoined on {placed} {rejoined:.1f} s after SIGTERM, media checked after {seen:.1f} s")
            for p in people:
                await p.close()
        asyncio.run(run())
        # The drained node stops by itself, cleanly, once its drain time is over.
        assert nodes[1].proc.wait(timeout=30) == 0
        # It left the cluster on its way out (its row is gone at once, not after a timeout).
        assert pg.sql("SELECT node_id FROM tessera_nodes ORDER BY node_id") == [["n1"], ["n3"]]
    finally:
        stop_all(nodes, pg)


def test_a_relayed_participant_reconnects_through_the_same_node():
    """bob comes through n2 to a room on n1. His socket drops (no leave): a new
    socket to n2 with `connect {sessionId}` finds his session on n1 again, within
    the room's grace, and he stays in the room with his media."""
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, count=2, extra={"TESSERA_ROOM_GRACE": "3"})
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 2 for n in nodes), 10)

        async def run():
            alice = Participant(room_url(nodes[0]), "alice", "again", *PEOPLE[0][1:])
            bob = Participant(room_url(nodes[1]), "bob", "again", *PEOPLE[1][1:])
            for p in (alice, bob):
                await p.join()
                await p.publish()
            await check_sfu_view([alice, bob])
            session = bob.join_result["sessionId"]
            bob.keepalive_task.cancel()
            bob.socket.close()
            await asyncio.sleep(0.5)
            again = RoomSocket(room_url(nodes[1]))
            assert again.result("connect", {"sessionId": session}) == {"sessionId": session, "value": "reconnection successful"}
            # Past the grace period bob is still there: nobody was told he left, and his media flows.
            await asyncio.sleep(4)
            assert not any(n.get("method") == "participantLeft" for n in alice.notes), alice.note_methods()
            frames = alice.recorder("bob").video_frames
            await asyncio.sleep(1)
            assert alice.recorder("bob").video_frames > frames
            # Requests on the new socket reach the room on n1.
            again.result("sendMessage", {"message": "back", "userMessage": "bob", "roomMessage": "again"})
            assert await wait_for(lambda: any(n.get("method") == "sendMessage" and n["params"].get("message") == "back"
                                              for n in alice.notes), 5), alice.note_methods()
            again.request("leaveRoom", {})
            again.close()
            await alice.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)


def test_a_client_of_the_redirect_extension_goes_to_the_rooms_node():
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, count=2)
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 2 for n in nodes), 10)

        async def run():
            alice = Participant(room_url(nodes[0]), "alice", "direct", *PEOPLE[0][1:])
            await alice.join()
            await alice.publish()
            # bob asks n2, which answers where the room is instead of relaying.
            probe = RoomSocket(room_url(nodes[1]))
            r = probe.result("joinRoom", {"user": "bob", "room": "direct", "extensions": ["redirect"]})
            assert r == {"redirect": room_url(nodes[0]), "node": "n1", "room": "direct"}, r
            probe.close()
            bob = Participant(r["redirect"], "bob", "direct", *PEOPLE[1][1:], extensions=["redirect"])
            await bob.join()
            await bob.publish()
            await check_sfu_view([alice, bob])
            assert "redirect" in bob.join_result.get("extensionsAccepted", []), bob.join_result
            for p in (alice, bob):
                await p.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)


@pytest.mark.parametrize("cascade", [False, True], ids=["relayed", "cascaded"])
def test_three_nodes_on_three_hosts_each_advertising_its_own_address(cascade):
    """The nodes in three network namespaces joined by a bridge (three hosts of
    one LAN), each listening on and advertising only its own address; the
    participants, on the bridge's side, connect to different nodes.
    Relayed: every ICE candidate they are given is the room's node's, and media
    goes there only. Cascaded (cluster.maxParticipantsPerNode 1): each is
    hosted by the node it connected to and given only that node's candidates;
    the streams cross between the hosts over the nodes' RtpEndpoint links."""
    assert os.geteuid() == 0, "network namespaces need root (CI runs as root)"
    import media
    from netns import Hosts
    hosts = Hosts(3)
    pg = None
    nodes = []
    saved = list(media.HOST_ADDRESSES)
    try:
        pg = Postgres(listen=("127.0.0.1", hosts.address), clients=(hosts.network,))
        for i in (1, 2, 3):
            address = hosts.host(i)
            env = {"TESSERA_CLUSTER_DATABASE_URL": pg.url_at(hosts.address), "TESSERA_CLUSTER_NODE_ID": f"n{i}",
                   "TESSERA_CLUSTER_ADVERTISE_URL": f"ws://{address}:8888", **SMALL_MIXER}
            if cascade:
                env["TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE"] = "1"
            nodes.append(Server(env_overrides=env, port=8888, host=address, prefix=hosts.prefix_command(i)))
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10), [cluster(n) for n in nodes]
        media.HOST_ADDRESSES[:] = [hosts.address]

        async def run():
            people = await publishers_on(nodes, "lan", ["mode"])
            assert holder(nodes[2], "lan") == "n1"
            await check_sfu_view(people)
            r = await asyncio.to_thread(people[2].socket.result, "setRoomMode", {"mode": "mcu"})
            assert r["mode"] == "mcu", r
            await check_mcu_view(people)
            for i, p in enumerate(people):
                candidates = [n["params"]["candidate"] for n in p.notes if n.get("method") == "iceCandidate"]
                addresses = {c.split()[4] for c in candidates}
                expected = hosts.host(i + 1) if cascade else hosts.host(1)
                assert candidates and addresses == {expected}, (p.name, addresses)
            if cascade:
                print("candidates given to the participants of n1, n2, n3:", [hosts.host(i) for i in (1, 2, 3)])
                assert [objects(n) > 0 for n in nodes] == [True, True, True]
            else:
                print("candidates given to the participants of n1, n2, n3: all", hosts.host(1))
                assert [objects(n) > 0 for n in nodes] == [True, False, False]
            for p in people:
                await p.close()
        asyncio.run(run())
    finally:
        media.HOST_ADDRESSES[:] = saved
        for n in nodes:
            n.stop()
        if pg:
            pg.stop()
        hosts.close()


def test_a_node_without_its_database_does_not_start():
    """A wrong database URL fails the start with a message, and no half-started node."""
    env = {"TESSERA_CLUSTER_DATABASE_URL": f"postgres://tessera@127.0.0.1:{free_port()}/postgres",
           "TESSERA_PORT": str(free_port()), "TESSERA_ADDRESS": "127.0.0.1", "TESSERA_ICE_UDP_PORT": "0"}
    r = subprocess.run([BIN, "--config", f"{REPO}/Config/tessera.json"], env={**os.environ, **env},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0, r
    out = r.stdout + r.stderr
    print(out[-400:])
    assert "connection refused" in out.lower() or "cluster" in out.lower(), out[-2000:]
    # A URL that is not PostgreSQL's is a config error (status 2, naming the key).
    r = subprocess.run([BIN, "--config", f"{REPO}/Config/tessera.json"], env={**os.environ, **env, "TESSERA_CLUSTER_DATABASE_URL": "mysql://x@y/z"},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "cluster.databaseURL" in r.stderr, r


def test_the_demo_page_joins_again_when_the_rooms_node_dies(tmp_path):
    """The demo page, served by n1, is in a room held by n2 (relayed). n2 is
    killed: the page sees its socket close, joins again through n1 by itself
    once n2's lease has run out, and an aiortc participant who also came back
    (through n3) decodes the page's camera again."""
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    video, audio = make_inputs(str(tmp_path), (230, 200, 30), 600)
    pg = Postgres()
    nodes = []
    latest = {}
    try:
        nodes = start_nodes(pg)
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)

        async def run():
            dave = Participant(room_url(nodes[1]), "dave", "web", (200, 200, 40), 900)
            await dave.join()
            await dave.publish()
            carol = Participant(room_url(nodes[2]), "carol", "web", *PEOPLE[2][1:], extensions=["cluster"])
            await carol.join()
            await carol.publish()
            url = f"http://127.0.0.1:{nodes[0].port}/demo?room=web&user=chrome&mode=sfu&report=1"
            proc = open_page(url, tmp_path, video, audio, latest)

            def sees_chrome():
                rec = carol.recorder("chrome")
                return rec is not None and rec.video_frames >= 30 and rec.last_rgb is not None \
                    and colour_close(centre_colour(rec.last_rgb), (230, 200, 30), 45)
            try:
                assert await wait_for(sees_chrome, 40), (latest, carol.note_methods())
                assert holder(nodes[0], "web") == "n2"
                nodes[1].proc.kill()
                killed = time.time()
                assert await wait_for(lambda: carol.socket.closed, 10)
                await carol.rejoin()
                # The page comes back by itself: carol is told it published again, and decodes it.
                assert await wait_for(lambda: latest.get("rejoins") == 1 and latest.get("joined"), 30), latest
                assert await wait_for(sees_chrome, 30), (latest, carol.note_methods()[-6:])
                assert await wait_for(lambda: latest.get("frames", {}).get("carol", 0) > 30, 30), latest
                print(f"demo page joined again {time.time() - killed:.1f} s after its room's node was killed;"
                      f" the room is now on {holder(nodes[0], 'web')}")
            finally:
                proc.kill()
                proc.wait()
                await carol.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)
