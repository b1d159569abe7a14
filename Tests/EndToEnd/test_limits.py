"""Each limit reached against the real server: the refusal names the limit, is
counted in /metrics, and the server keeps serving."""
import json
import time

import websocket

from conftest import Server


def ws(server, path="kurento"):
    return websocket.create_connection(f"ws://127.0.0.1:{server.port}/{path}", timeout=5)


def call(sock, id_, method, params=None):
    sock.send(json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}))
    while True:
        r = json.loads(sock.recv())
        if r.get("id") == id_:
            return r


def refusals(server):
    return {line.split('"')[1]: float(line.split()[-1]) for line in server.metrics().splitlines()
            if line.startswith("tessera_limit_refusals_total{")}


def test_every_limit_refuses_with_its_name():
    server = Server(env_overrides={
        "TESSERA_MAX_CONNECTIONS": "3", "TESSERA_REQUESTS_PER_SECOND": "5", "TESSERA_KURENTO_REQUESTS_PER_SECOND": "5", "TESSERA_MAX_MESSAGE_BYTES": "2048",
        "TESSERA_MAX_PIPELINES": "2", "TESSERA_MAX_ROOMS": "1", "TESSERA_ROOM_MAX_PARTICIPANTS": "1"})
    try:
        a = ws(server)
        b = ws(server, "room")
        assert "result" in call(b, 1, "joinRoom", {"user": "alice", "room": "one"})
        # Pipelines (the room's counts): the third is refused with NOT_ENOUGH_RESOURCES.
        assert "result" in call(a, 1, "create", {"type": "MediaPipeline"})
        r = call(a, 2, "create", {"type": "MediaPipeline"})
        assert r["error"]["code"] == 40009 and "limits.maxPipelines (2)" in r["error"]["message"], r
        # Rooms and participants.
        c = ws(server, "room")
        r = call(c, 1, "joinRoom", {"user": "bob", "room": "one"})
        assert r["error"]["code"] == 207 and "rooms.maxParticipants (1)" in r["error"]["message"], r
        r = call(c, 2, "joinRoom", {"user": "bob", "room": "two"})
        assert r["error"]["code"] == 208 and "limits.maxRooms (1)" in r["error"]["message"], r
        # Connections: a fourth socket is refused at the upgrade.
        try:
            ws(server)
            raise AssertionError("a fourth connection was accepted")
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 503
        # Request rate: a burst past 5 a second is answered, not run; the socket stays usable.
        time.sleep(1.2)
        for i in range(12):
            a.send(json.dumps({"jsonrpc": "2.0", "id": 100 + i, "method": "ping", "params": {}}))
        answers = [json.loads(a.recv()) for _ in range(12)]
        limited = [x for x in answers if "error" in x]
        assert len(limited) >= 5 and all(x["error"]["code"] == 40009 and "limits.kurentoRequestsPerSecond" in x["error"]["message"]
                                         for x in limited), answers
        assert sorted(x["id"] for x in answers) == list(range(100, 112))
        time.sleep(1.2)
        assert call(a, 200, "ping")["result"]["value"] == "pong"
        # Room requests are limited the same way, with the room protocol's code.
        time.sleep(1.2)
        for i in range(12):
            b.send(json.dumps({"jsonrpc": "2.0", "id": 300 + i, "method": "ping", "params": {}}))
        answers = [json.loads(b.recv()) for _ in range(12)]
        assert any(x.get("error", {}).get("code") == 208 for x in answers), answers
        # A message over the size limit: a JSON-RPC error with a null id, then the close.
        c.send(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "ping", "params": {"pad": "x" * 4000}}))
        r = json.loads(c.recv())
        assert r["id"] is None and r["error"]["code"] == -32600 and "limits.maxMessageBytes (2048)" in r["error"]["message"], r
        opcode, frame = c.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(frame[:2], "big") == 1009, (opcode, frame)
        # Everything was counted, and the others are still served.
        counted = refusals(server)
        for key in ("limits.maxPipelines", "limits.maxRooms", "rooms.maxParticipants", "limits.maxConnections",
                    "limits.requestsPerSecond", "limits.kurentoRequestsPerSecond", "limits.maxMessageBytes"):
            assert counted.get(key, 0) >= 1, (key, counted)
        time.sleep(1.2)
        assert call(a, 400, "ping")["result"]["value"] == "pong"
        assert call(b, 401, "ping")["result"]["value"] == "pong"
        for s in (a, b, c):
            s.close()
    finally:
        server.stop()
