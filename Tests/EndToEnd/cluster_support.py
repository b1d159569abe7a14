"""Helpers of the cluster tests: tessera nodes on one PostgreSQL, and what
their /health says of the cluster."""
from conftest import Server, free_port

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
