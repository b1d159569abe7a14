"""Raw WebSocket transcripts for every Kurento protocol method and every error
code the server can produce today, against the real server."""
import json
import re

import pytest

from conftest import Client

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_client_startup_sequence(client):
    """What kurento-client-js sends on start (protocol §4.1)."""
    r = client.request("ping", {"interval": 5000}, id=0)
    assert r == {"jsonrpc": "2.0", "id": 0, "result": {"value": "pong"}}
    d = client.result("describe", {"object": "manager_ServerManager"})
    assert d["type"] == "ServerManager" and d["qualifiedType"] == "kurento.ServerManager"
    assert d["hierarchy"] == ["kurento.MediaObject"]
    session = d["sessionId"]
    info = client.result("invoke", {"object": "manager_ServerManager", "operation": "getInfo", "sessionId": session})
    assert info["sessionId"] == session
    names = [m["name"] for m in info["value"]["modules"]]
    assert {"core", "elements", "filters"} <= set(names)
    # later pings carry the bound session
    assert client.result("ping") == {"value": "pong", "sessionId": session}


def test_every_method(client):
    p = client.result("create", {"type": "MediaPipeline", "constructorParams": {}, "properties": {}})
    session, pid = p["sessionId"], p["value"]
    assert re.fullmatch(UUID + r"_kurento\.MediaPipeline", pid)

    sub = client.result("subscribe", {"object": "manager_ServerManager", "type": "ObjectCreated", "sessionId": session})
    assert re.fullmatch(UUID, sub["value"])
    p2 = client.result("create", {"type": "kurento.MediaPipeline", "sessionId": session})["value"]
    ev = client.wait_event("ObjectCreated")["params"]["value"]
    assert ev["object"] == "manager_ServerManager"
    assert ev["data"]["object"] == p2
    assert ev["data"]["source"] == "manager_ServerManager"
    assert re.fullmatch(r"\d{13}", ev["data"]["timestampMillis"])
    assert client.result("unsubscribe", {"subscription": sub["value"], "sessionId": session}) == {"sessionId": session}

    desc = client.result("describe", {"object": pid})
    assert desc == {"type": "MediaPipeline", "qualifiedType": "kurento.MediaPipeline",
                    "hierarchy": ["kurento.MediaObject"], "sessionId": session}

    assert client.result("invoke", {"object": pid, "operation": "setName", "operationParams": {"name": "n"}}) == {"sessionId": session, "value": None}
    assert client.result("invoke", {"object": pid, "operation": "getName"})["value"] == "n"
    assert client.result("invoke", {"object": "manager_ServerManager", "operation": "getPipelines"})["value"] == [pid, p2] or \
        sorted(client.result("invoke", {"object": "manager_ServerManager", "operation": "getPipelines"})["value"]) == sorted([pid, p2])
    assert client.result("invoke", {"object": "manager_ServerManager", "operation": "getCpuCount"})["value"] >= 1
    cpu = client.result("invoke", {"object": "manager_ServerManager", "operation": "getUsedCpu", "operationParams": {"interval": 100}})["value"]
    assert 0 <= cpu <= 100
    assert client.result("invoke", {"object": "manager_ServerManager", "operation": "getUsedMemory"})["value"] > 1000
    kmd = json.loads(client.result("invoke", {"object": "manager_ServerManager", "operation": "getKmd", "operationParams": {"moduleName": "core"}})["value"])
    assert kmd["name"] == "core"
    assert session in client.result("invoke", {"object": "manager_ServerManager", "operation": "getSessions"})["value"]

    tx = client.result("transaction", {"operations": [
        {"jsonrpc": "2.0", "id": 0, "method": "create", "params": {"type": "MediaPipeline"}},
        {"jsonrpc": "2.0", "id": 1, "method": "invoke", "params": {"object": "newref:0", "operation": "getId"}},
        {"jsonrpc": "2.0", "id": 2, "method": "release", "params": {"object": "newref:0"}},
    ], "sessionId": session})
    created = tx["value"][0]["result"]["value"]
    assert tx["value"][1] == {"jsonrpc": "2.0", "id": 1, "result": {"sessionId": session, "value": created}}
    assert "result" in tx["value"][2]

    assert client.result("keepAlive", {"sessionId": session}) == {"sessionId": session}
    assert client.result("ref", {"object": pid}) == {"sessionId": session}
    assert client.result("unref", {"object": p2}) == {"sessionId": session}  # last reference: released
    assert client.error("describe", {"object": p2})["code"] == 40101
    assert client.result("release", {"object": pid}) == {"sessionId": session}
    assert client.result("release", {"object": pid}) == {"sessionId": session}  # idempotent
    c = client.result("connect", {"sessionId": session})
    assert c["sessionId"] == session and re.fullmatch(UUID, c["serverId"])
    assert client.request("closeSession", {"sessionId": session})["result"] is None


def test_notification_gets_no_reply(client):
    client.send_raw(json.dumps({"jsonrpc": "2.0", "method": "ping"}))
    # the next reply on the socket is for the next request, not the notification
    assert client.request("ping", id=99)["id"] == 99


ERRORS = [
    # (name, raw request or (method, params), code, data.type)
    ("parse error", '{"jsonrpc":"2.0","id":1,', -32700, None),
    ("batch", '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600, None),
    ("bad version", '{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600, None),
    ("unknown method", ("teleport", {}), -32601, None),
    ("missing params", ("create", None), -32602, "INVALID_PARAMS"),
    ("missing member", ("create", {}), -32000, None),
    ("ill-typed member", ("invoke", {"object": 5, "operation": "getName"}), -32000, None),
    ("unknown object", ("invoke", {"object": "x_kurento.MediaPipeline", "operation": "getName"}), 40101, "MEDIA_OBJECT_NOT_FOUND"),
    ("unknown type", ("create", {"type": "Hologram"}), 40108, "MEDIA_OBJECT_NOT_AVAILABLE"),
    ("unknown operation", ("invoke", {"object": "manager_ServerManager", "operation": "fly"}), 40008, "MALFORMED_TRANSACTION"),
    ("bad param type", ("invoke", {"object": "$P", "operation": "setSendTagsInEvents", "operationParams": {"sendTagsInEvents": "yes"}}), 40001, "MARSHALL_ERROR"),
    ("missing param", ("invoke", {"object": "$P", "operation": "getTag", "operationParams": {}}), 40001, "MARSHALL_ERROR"),
    ("bad enum", ("invoke", {"object": "$P", "operation": "getGstreamerDot", "operationParams": {"details": "LOUD"}}), 40001, "MARSHALL_ERROR"),
    ("unsupported event", ("subscribe", {"object": "$P", "type": "CodeFoundEvent"}), 40106, "MEDIA_OBJECT_EVENT_NOT_SUPPORTED"),
    ("stale session", ("connect", {"sessionId": "not-a-session"}), 40007, "INVALID_SESSION"),
    ("bad transaction ids", ("transaction", {"operations": [{"jsonrpc": "2.0", "id": 5, "method": "ping"}]}), 40008, "MALFORMED_TRANSACTION"),
    ("newref outside transaction", ("describe", {"object": "newref:1"}), 40109, "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT"),
    ("missing tag", ("invoke", {"object": "$P", "operation": "getTag", "operationParams": {"key": "k"}}), 40110, "MEDIA_OBJECT_TAG_KEY_NOT_FOUND"),
    ("unknown kmd", ("invoke", {"object": "manager_ServerManager", "operation": "getKmd", "operationParams": {"moduleName": "x"}}), 40500, "UNDEFINED"),
]


@pytest.mark.parametrize("name,req,code,type_", ERRORS, ids=[e[0] for e in ERRORS])
def test_error(server, name, req, code, type_):
    setup = Client(server.url)
    pid = setup.result("create", {"type": "MediaPipeline"})["value"]
    c = Client(server.url)
    if isinstance(req, str):
        c.send_raw(req)
        r = c.recv()
        if name in ("parse error", "batch", "bad version"):
            assert r["id"] is None, r  # JSON-RPC 2.0 §5: no usable id
    else:
        method, params = req
        if params is not None:
            params = json.loads(json.dumps(params).replace("$P", pid))
        r = c.request(method, params)
    assert "result" not in r
    assert r["error"]["code"] == code, r
    assert r["error"].get("data", {}).get("type") == type_
    assert r["error"]["message"]
    # the socket still works, and other clients were not disturbed
    assert c.result("ping")["value"] == "pong"
    assert setup.result("invoke", {"object": pid, "operation": "getId"})["value"] == pid
    setup.result("release", {"object": pid})
    c.close()
    setup.close()
