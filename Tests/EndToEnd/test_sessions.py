"""Sessions across sockets: reconnection, the grace period, dropped peers."""
import time

import pytest

from conftest import Client, Server


def test_reconnect_with_old_session_keeps_objects(server):
    a = Client(server.url)
    r = a.result("create", {"type": "MediaPipeline"})
    session, pid = r["sessionId"], r["value"]
    a.result("subscribe", {"object": "manager_ServerManager", "type": "ObjectDestroyed"})
    a.close()  # the socket drops; the session is in its grace period

    b = Client(server.url)
    c = b.result("connect", {"sessionId": session})
    assert c["sessionId"] == session
    assert b.result("invoke", {"object": pid, "operation": "getId"})["value"] == pid
    # events of the old session now come to the new socket
    b.result("release", {"object": pid})
    ev = b.wait_event("ObjectDestroyed")
    assert ev["params"]["value"]["data"]["objectId"] == pid
    b.close()


def test_unknown_session_on_reconnect_is_invalid(server):
    c = Client(server.url)
    e = c.error("connect", {"sessionId": "0000"})
    assert e == {"code": 40007, "message": "Invalid session", "data": {"type": "INVALID_SESSION"}}
    # a parameterless connect starts a new session, as the Java client does next
    assert len(c.result("connect")["sessionId"]) == 36
    c.close()


@pytest.fixture(scope="module")
def short_grace():
    s = Server({"TESSERA_GRACE_PERIOD": "2"})
    yield s
    s.stop()


def test_dropped_session_is_collected_after_grace_period(short_grace):
    a = Client(short_grace.url)
    r = a.result("create", {"type": "MediaPipeline"})
    session = r["sessionId"]
    watcher = Client(short_grace.url)
    watcher.result("subscribe", {"object": "manager_ServerManager", "type": "ObjectDestroyed"})
    a.close()
    time.sleep(0.5)
    assert short_grace.health()["objects"] == 1  # still inside the grace period
    ev = watcher.wait_event("ObjectDestroyed", timeout=10)
    assert ev["params"]["value"]["data"]["objectId"] == r["value"]
    assert short_grace.health()["objects"] == 0
    b = Client(short_grace.url)
    assert b.error("connect", {"sessionId": session})["code"] == 40007
    b.close()
    watcher.close()


def test_live_socket_keeps_session_past_grace_period(short_grace):
    a = Client(short_grace.url)
    pid = a.result("create", {"type": "MediaPipeline"})["value"]
    time.sleep(4)
    assert a.result("invoke", {"object": pid, "operation": "getId"})["value"] == pid
    a.result("release", {"object": pid})
    a.close()


def test_retried_request_id_is_answered_once(server):
    c = Client(server.url)
    session = c.result("connect")["sessionId"]
    before = server.health()["objects"]
    msg = {"jsonrpc": "2.0", "id": 500, "method": "create", "params": {"type": "MediaPipeline", "sessionId": session}}
    import json
    c.send_raw(json.dumps(msg))
    first = c.wait_response(500)
    c.send_raw(json.dumps(msg))
    second = c.wait_response(500)
    assert first == second
    assert server.health()["objects"] == before + 1
    c.result("release", {"object": first["result"]["value"]})
    c.close()
