"""Helpers of the cluster tests: tessera nodes on one PostgreSQL, and what
their /health says of the cluster."""
import asyncio
import time

from conftest import Server, free_port
from media import wait_for
from room_client import Participant
from test_rooms import check_hybrid_view, check_mcu_view, check_sfu_view, room_url

# One participant per node: name, colour, tone.
PEOPLE = [("alice", (220, 40, 40), 300), ("bob", (40, 200, 60), 500), ("carol", (40, 60, 220), 700)]

SMALL_MIXER = {"TESSERA_MIXER_WIDTH": "640", "TESSERA_MIXER_HEIGHT": "360", "TESSERA_MIXER_FPS": "15"}


def start_nodes(pg, count=3, extra=None, mixer=SMALL_MIXER):
    """`count` tessera nodes n1, n2, ... on loopback, in the cluster of `pg`;
    `mixer`: the composite's settings (the tests' small one, or {} for the defaults)."""
    nodes = []
    for i in range(count):
        env = {"TESSERA_CLUSTER_DATABASE_URL": pg.url, "TESSERA_CLUSTER_NODE_ID": f"n{i + 1}", "TESSERA_ADMIN_KEY": "k",
               **mixer, **(extra or {})}
        # The advertised URL names the node's own port, known before it starts.
        port = free_port()
        env["TESSERA_CLUSTER_ADVERTISE_URL"] = f"ws://127.0.0.1:{port}"
        nodes.append(Server(env_overrides=env, port=port))
    return nodes


def cluster(node):
    return node.health()["cluster"]


def holder(node, room):
    for n in cluster(node)["nodes"]:
        if room in n["rooms"]:
            return n["id"]
    return None


def objects(node):
    return node.health()["objects"]


def stop_all(nodes, pg):
    for n in nodes:
        n.stop()
    pg.stop()


async def publishers_on(nodes, room, extensions=()):
    """alice, bob and carol, one on each of `nodes` in turn (joining in that
    order), each publishing its colour and tone in `room`."""
    people = [Participant(room_url(node), name, room, colour, hz, extensions=list(extensions))
              for node, (name, colour, hz) in zip(nodes, PEOPLE)]
    for p in people:
        await p.join()
        await p.publish()
    return people


CHECKS = {"sfu": check_sfu_view, "mcu": check_mcu_view, "hybrid": check_hybrid_view}


async def switch_and_check(moderator, people, modes):
    """`moderator` switches the room to each of `modes` in turn; every one of
    `people` then gets the media of that mode and the switch's completion."""
    for target in modes:
        started = time.time()
        r = await asyncio.to_thread(moderator.socket.result, "setRoomMode", {"mode": target})
        assert r["mode"] == target, r
        await CHECKS[target](people)
        for p in people:
            assert await wait_for(lambda: any(n.get("method") == "roomModeChanged" and n["params"]["mode"] == target
                                              and n["params"]["phase"] == "completed" for n in p.notes), 15), p.name
        print(f"{target}: media checked for every node's participants in {time.time() - started:.1f} s")
