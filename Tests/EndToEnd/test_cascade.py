"""Cascaded rooms (docs/cluster.md, "Cascaded rooms"): one room spread over
three tessera nodes on one PostgreSQL. With cluster.maxParticipantsPerNode
at 1, the room's node (n1) hosts alice only; bob joins through n2 and carol
through n3, and those nodes host them, each linked to n1. Every participant's
WebRTC session is with its own node; streams cross between nodes over
SDES-SRTP RtpEndpoint links, n2 and n3 reaching each other through n1."""
import asyncio
import json
import os
import subprocess
import time

from cluster_support import PEOPLE, cluster, holder, objects, publishers_on, start_nodes, stop_all, switch_and_check
from conftest import REPO
from media import tone_level, wait_for, wait_for_sync
from pg import Postgres
from room_client import Participant
from test_room_streams import BLUE, GREEN, RED, decodes
from test_rooms import check_sfu_view, room_url

CASCADE = {"TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE": "1"}


def peers(p):
    names = {e["id"] for e in p.join_result.get("value", [])}
    for n in p.notes:
        if n.get("method") == "participantJoined":
            names.add(n["params"]["id"])
        elif n.get("method") == "participantLeft":
            names.discard(n["params"]["name"])
    return names


def test_a_room_over_three_nodes_in_sfu_mcu_and_hybrid_modes():
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, extra=CASCADE)
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10), [cluster(n) for n in nodes]

        async def run():
            people = await publishers_on(nodes, "cascade", ["mode", "layout", "speaking"])
            # The room is n1's; n2 and n3 host a participant each (they hold media objects).
            assert [holder(n, "cascade") for n in nodes] == ["n1", "n1", "n1"]
            assert all(objects(n) > 0 for n in nodes), [objects(n) for n in nodes]
            # Every participant has the two others in its list (from its join answer or participantJoined).
            for p in people:
                others = {o.name for o in people if o is not p}
                assert await wait_for(lambda: others <= peers(p), 10), (p.name, peers(p))
            started = time.time()
            await check_sfu_view(people)
            print(f"sfu over three nodes: every colour and tone checked in {time.time() - started:.1f} s")

            # bob's switch request goes from n2 to the owner, which switches everyone.
            await switch_and_check(people[1], people, ["mcu", "hybrid", "sfu"])

            # carol (n3) leaves: alice (n1) and bob (n2) are told, and n3 lets its room go.
            await people[2].close()
            for p in people[:2]:
                assert await wait_for(lambda: any(n.get("method") == "participantLeft" and n["params"]["name"] == "carol"
                                                  for n in p.notes), 10), p.name
            assert await wait_for(lambda: objects(nodes[2]) == 0, 10), objects(nodes[2])
            for p in people[:2]:
                await p.close()
            assert await wait_for(lambda: all(objects(n) == 0 for n in nodes), 10), [objects(n) for n in nodes]
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)


LOAD = os.environ.get("TESSERA_LOAD_BIN", os.path.join(REPO, ".build", "debug", "tessera-load"))
TONES = [300, 340, 380]  # tessera-load's talker tones 0, 1 and 2: one talker per node


def load(node, prefix, first_tone, seconds):
    """20 tessera-load participants joining `node`: one talker (tone `first_tone`), 19 silent."""
    others = [hz for i, hz in enumerate(TONES) if i != first_tone]
    cmd = [LOAD, "audio-room", "--url", f"ws://127.0.0.1:{node.port}", "--json", "--room", "townhall", "--mode", "mcu",
           "--peers", "20", "--talkers", "1", "--first-tone", str(first_tone), "--name-prefix", prefix,
           "--seconds", str(seconds), "--decode-sample", "2", "--join-rate", "20", "--loops", "1"]
    for hz in others:
        cmd += ["--listen-for", str(hz)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc, timeout=180):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, (proc.returncode, err[-2000:])
    return json.loads(out)


def node_participants(node, node_id):
    return next((n["participants"] for n in cluster(node)["nodes"] if n["id"] == node_id), None)


def test_sixty_audio_participants_over_three_nodes():
    """An MCU audio room of 60 tessera-load participants, 20 joining each node,
    with cluster.maxParticipantsPerNode at 21: n1 holds the room and hosts its
    20 plus one aiortc listener; n2 and n3 host theirs and link to n1. One
    talker per node. Each node's aiortc listener hears all three talkers; the
    generators' sampled participants hear the other nodes' talkers and a
    talker never itself."""
    pg = Postgres()
    nodes = []
    loads = []
    try:
        nodes = start_nodes(pg, extra={"TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE": "21"})
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10), [cluster(n) for n in nodes]

        async def run():
            listeners = [Participant(room_url(node), f"listener{i + 1}", "townhall", mode="mcu") for i, node in enumerate(nodes)]
            await listeners[0].join()
            loads.append(load(nodes[0], "a", 0, 40))
            # n1 is full (21) before the others join through n2 and n3.
            assert await wait_for(lambda: node_participants(nodes[0], "n1") == 21, 60), cluster(nodes[0])
            for listener in listeners[1:]:
                await listener.join()
            loads.append(load(nodes[1], "b", 1, 15))
            loads.append(load(nodes[2], "c", 2, 15))
            assert await wait_for(lambda: [node_participants(nodes[0], f"n{i + 1}") for i in range(3)] == [21, 21, 21], 60), cluster(nodes[0])
            assert [holder(n, "townhall") for n in nodes] == ["n1", "n1", "n1"]

            # Each node's listener hears the three talkers, wherever they are.
            def hears_all(p):
                rec = p.recorder("$mcu")
                return rec is not None and len(rec.audio) >= 48000 and all(tone_level(rec.audio, hz) > 0.2 for hz in TONES)
            for p in listeners:
                assert await wait_for(lambda: hears_all(p), 30), (p.name, [tone_level(p.recorder("$mcu").audio, hz) for hz in TONES]
                                                                  if p.recorder("$mcu") else None)
                print(p.name, "hears", {hz: round(tone_level(p.recorder("$mcu").audio, hz), 2) for hz in TONES})
            for p in listeners:
                await p.close()

        asyncio.run(run())
        reports = [finished(p) for p in loads[1:]] + [finished(loads[0])]
        for r in reports:
            print(json.dumps({k: r.get(k) for k in ("connected", "failed", "loss", "receivedPacketsPerSecondPerParticipant")}))
            assert r["connected"] == 20 and r["failed"] == 0, r.get("failures")
            assert r["receivedPacketsPerSecondPerParticipant"]["min"] >= 45, r["receivedPacketsPerSecondPerParticipant"]
        # n2's and n3's generators ran while all three talked: their samples hear
        # the two other nodes' talkers, and their talker does not hear itself.
        for r in reports[:2]:
            for d in r["decodeSample"]:
                print(d)
                assert sorted(d["heardHz"]) == sorted(d["expectedHz"]), d
                if d["ownHz"] is not None:
                    assert d["ownLevel"] < 0.01, d
    finally:
        for p in loads:
            if p.poll() is None:
                p.kill()
        stop_all(nodes, pg)


def test_the_room_continues_on_the_other_nodes_when_its_node_dies():
    """Two participants per node at most. alice and dave are on n1, the room's
    node; eve also joins through n1, which is full and sends her join on to
    another node that hosts her. bob is on n2, carol on n3. n1 is killed:
    n2 and n3 keep their participants (and their WebRTC sessions), place the
    room again once n1's lease has run out, and one of them holds it while
    the other re-attaches to it. alice and dave, whose node died, join again
    through n2 and n3."""
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, extra={"TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE": "2"})
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)

        async def run():
            def person(node, name, colour, hz):
                return Participant(room_url(node), name, "resilient", colour, hz, extensions=["cluster"])
            alice = person(nodes[0], "alice", *PEOPLE[0][1:])
            dave = person(nodes[0], "dave", (200, 200, 40), 900)
            bob = person(nodes[1], "bob", *PEOPLE[1][1:])
            carol = person(nodes[2], "carol", *PEOPLE[2][1:])
            everyone = [alice, dave, bob, carol]
            for p in everyone:
                await p.join()
                await p.publish()
            # n1 hosts two: a third join through it is sent on and hosted by n2 or n3.
            eve = Participant(room_url(nodes[0]), "eve", "resilient")
            await eve.join()
            assert {e["id"] for e in eve.join_result["value"]} >= {"alice", "dave", "bob", "carol"}, eve.join_result
            assert await wait_for(lambda: node_participants(nodes[0], "n1") == 2
                                  and node_participants(nodes[0], "n2") + node_participants(nodes[0], "n3") == 3, 10), cluster(nodes[0])
            await eve.close()
            await check_sfu_view(everyone)
            bob_pc, carol_pc = bob.publisher, carol.publisher

            nodes[0].proc.kill()
            killed = time.time()
            # bob and carol keep their sockets and sessions; they see n1's participants leave.
            for p in (bob, carol):
                assert await wait_for(lambda: {"alice", "dave"} <= {n["params"]["name"] for n in p.notes if n.get("method") == "participantLeft"}, 10), p.name
            left = time.time() - killed
            await asyncio.gather(alice.rejoin(room_url(nodes[1])), dave.rejoin(room_url(nodes[2])))
            rejoined = time.time() - killed
            await check_sfu_view(everyone)
            seen = time.time() - killed
            assert not bob.socket.closed and not carol.socket.closed
            assert bob.publisher is bob_pc and carol.publisher is carol_pc
            assert not any(n.get("method") == "roomMoved" for p in (bob, carol) for n in p.notes)
            placed = holder(nodes[1], "resilient")
            assert placed in ("n2", "n3"), cluster(nodes[1])
            assert await wait_for(lambda: node_participants(nodes[1], "n2") == 2 and node_participants(nodes[1], "n3") == 2, 10), cluster(nodes[1])
            print(f"n1 killed: its participants left the others' rooms after {left:.1f} s; the room on {placed}, "
                  f"alice and dave rejoined after {rejoined:.1f} s, every colour and tone back after {seen:.1f} s")
            for p in everyone:
                await p.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)


def test_a_draining_owner_hands_the_room_to_its_hosting_nodes():
    """Two participants per node at most: alice and dave on n1, the room's node;
    bob on n2, carol on n3. SIGTERM of n1 (cluster.drainSeconds 4): its
    participants are sent to another node (`roomMoved`, draining); the hosting nodes see their
    links end, place the room again at once (the draining node let it go) and
    one holds it while the other re-attaches. bob and carol keep their
    sessions; how long bob goes without carol's picture is measured."""
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, extra={"TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE": "2", "TESSERA_CLUSTER_DRAIN_SECONDS": "4"})
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 3 for n in nodes), 10)

        async def run():
            # alice and dave fill n1 before bob and carol join through n2 and n3.
            alice, bob, carol = [Participant(room_url(node), name, "upkeep", colour, hz, extensions=["cluster"])
                                 for node, (name, colour, hz) in zip(nodes, PEOPLE)]
            dave = Participant(room_url(nodes[0]), "dave", "upkeep", (200, 200, 40), 900, extensions=["cluster"])
            people = [alice, dave, bob, carol]
            for p in people:
                await p.join()
                await p.publish()
            await check_sfu_view(people)

            before = bob.recorder("carol")
            nodes[0].proc.terminate()
            started = time.time()
            assert await wait_for(lambda: alice.socket.closed and dave.socket.closed, 10)
            moved = [n["params"] for n in alice.notes if n.get("method") == "roomMoved"]
            assert len(moved) == 1 and moved[0]["reason"] == "draining", moved
            # bob's picture of carol crossed n1: it comes back over the new link (a new subscription).
            def carol_again():
                rec = bob.recorder("carol")
                return rec is not None and rec is not before and rec.video_frames >= 5
            assert await wait_for(carol_again, 15)
            back = time.time() - started
            await asyncio.gather(alice.rejoin(moved[0]["url"]), dave.rejoin(moved[0]["url"]))
            await check_sfu_view(people)
            seen = time.time() - started
            assert not bob.socket.closed and not carol.socket.closed
            placed = holder(nodes[1], "upkeep")
            assert placed in ("n2", "n3"), cluster(nodes[1])
            print(f"n1 drained: the room on {placed}; bob sees carol again {back:.1f} s after SIGTERM; "
                  f"alice and dave back and every colour and tone checked after {seen:.1f} s")
            for p in people:
                await p.close()
        asyncio.run(run())
        assert nodes[0].proc.wait(timeout=30) == 0
    finally:
        stop_all(nodes, pg)


def test_a_screen_shared_on_a_hosting_node_reaches_the_owners_participants():
    """Extension `streams` across a link: bob, hosted by n2, shares a screen
    beside his camera; alice, on n1 (the room's node), decodes both, and is
    told when the screen stops."""
    pg = Postgres()
    nodes = []
    try:
        nodes = start_nodes(pg, count=2, extra=CASCADE)
        assert wait_for_sync(lambda: all(len(cluster(n)["nodes"]) == 2 for n in nodes), 10)

        async def run():
            alice = Participant(room_url(nodes[0]), "alice", "screens", RED, 300, extensions=["streams"])
            bob = Participant(room_url(nodes[1]), "bob", "screens", BLUE, 500, extensions=["streams"])
            for p in (alice, bob):
                await p.join()
                await p.publish()
            await bob.publish_stream("screen", GREEN, size=(640, 360))
            assert objects(nodes[1]) > 0  # bob is hosted by n2
            assert await wait_for(lambda: decodes(alice, "bob_webcam", BLUE) and decodes(alice, "bob_screen", GREEN), 25), \
                list(alice.subscriptions)
            assert alice.recorder("bob_screen").video_sizes[-1] == (640, 360)
            assert await wait_for(lambda: decodes(bob, "alice_webcam", RED), 25), list(bob.subscriptions)
            await bob.unpublish_stream("screen")
            assert await wait_for(lambda: "bob_screen" not in alice.subscriptions, 10), list(alice.subscriptions)
            notes = [n["params"] for n in alice.notes if n.get("method") == "participantUnpublished"]
            assert notes == [{"name": "bob", "streamId": "screen"}], notes
            for p in (alice, bob):
                await p.close()
        asyncio.run(run())
    finally:
        stop_all(nodes, pg)
