"""Helpers of the cluster tests: tessera nodes on one PostgreSQL, and what
their /health says of the cluster."""
from conftest import Server, free_port
from room_client import Participant
from test_rooms import room_url

# One participant per node: name, colour, tone.
PEOPLE = [("alice", (220, 40, 40), 300), ("bob", (40, 200, 60), 500), ("carol", (40, 60, 220), 700)]

SMALL_MIXER = {"TESSERA_MIXER_WIDTH": "640", "TESSERA_MIXER_HEIGHT": "360", "TESSERA_MIXER_FPS": "15"}


def start_nodes(pg, count=3, extra=None):
    nodes = []
    for i in range(count):
        env = {"TESSERA_CLUSTER_DATABASE_URL": pg.url, "TESSERA_CLUSTER_NODE_ID": f"n{i + 1}", "TESSERA_ADMIN_KEY": "k",
               **SMALL_MIXER, **(extra or {})}
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
