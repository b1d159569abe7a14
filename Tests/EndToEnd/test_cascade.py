"""Cascaded rooms (docs/cluster.md, "Cascaded rooms"): one room spread over
three tessera nodes on one PostgreSQL. With cluster.maxParticipantsPerNode
at 1, the room's node (n1) hosts alice only; bob joins through n2 and carol
through n3, and those nodes host them, each linked to n1. Every participant's
WebRTC session is with its own node; streams cross between nodes over
SDES-SRTP RtpEndpoint links, n2 and n3 reaching each other through n1."""
import asyncio
import time

from cluster_support import cluster, holder, objects, start_nodes, stop_all
from media import wait_for, wait_for_sync
from pg import Postgres
from room_client import Participant
from test_rooms import check_hybrid_view, check_mcu_view, check_sfu_view, room_url

PEOPLE = [("alice", (220, 40, 40), 300), ("bob", (40, 200, 60), 500), ("carol", (40, 60, 220), 700)]
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
            people = [Participant(room_url(node), name, "cascade", colour, hz, extensions=["mode", "layout", "speaking"])
                      for node, (name, colour, hz) in zip(nodes, PEOPLE)]
            for p in people:
                await p.join()
                await p.publish()
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
            moderator = people[1]
            for target, check in [("mcu", check_mcu_view), ("hybrid", check_hybrid_view), ("sfu", check_sfu_view)]:
                started = time.time()
                r = await asyncio.to_thread(moderator.socket.result, "setRoomMode", {"mode": target})
                assert r["mode"] == target, r
                await check(people)
                for p in people:
                    assert await wait_for(lambda: any(n.get("method") == "roomModeChanged" and n["params"]["mode"] == target
                                                      and n["params"]["phase"] == "completed" for n in p.notes), 15), p.name
                print(f"{target}: media checked for the three nodes' participants in {time.time() - started:.1f} s")

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
