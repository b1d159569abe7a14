"""Room tokens against the real server: tokens made by `tessera token` (HS256 and
ES256) admit, and every kind of bad token is refused with 401 and its reason."""
import base64
import json
import subprocess
import time

from conftest import BIN, Server
from room_client import RoomSocket
from test_rooms import room_url


def token(*args):
    return subprocess.run([BIN, "token", *args], capture_output=True, text=True, timeout=30, check=True).stdout.strip()


def forge(claims, alg="HS256", key="k"):
    """A token signed with `key` (HS256) whatever the claims; alg none gets no signature."""
    import hashlib
    import hmac

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{payload}."
    return f"{header}.{payload}.{b64(hmac.new(key.encode(), f'{header}.{payload}'.encode(), hashlib.sha256).digest())}"


def test_tokens_hs256_es256_and_every_refusal(tmp_path):
    priv, pub = tmp_path / "es.key", tmp_path / "es.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(priv)], check=True)
    subprocess.run(["openssl", "ec", "-in", str(priv), "-pubout", "-out", str(pub)], check=True, capture_output=True)
    key = "hs-key"
    server = Server(env_overrides={"TESSERA_ROOM_TOKEN_KEY": key, "TESSERA_ROOM_TOKEN_PUBLIC_KEY": str(pub),
                                   "TESSERA_ROOM_TOKEN_AUDIENCE": "tessera", "TESSERA_ROOM_TOKEN_ISSUER": "auth.test"})
    try:
        url = room_url(server)
        now = int(time.time())
        good = {"room": "r", "user": "alice", "role": "moderator", "exp": now + 600, "aud": "tessera", "iss": "auth.test"}
        cases = {
            "expired": (forge(dict(good, exp=now - 120), key=key), "expired"),
            "not yet valid": (forge(dict(good, nbf=now + 600), key=key), "not valid yet"),
            "wrong audience": (forge(dict(good, aud="other"), key=key), "audience"),
            "wrong issuer": (forge(dict(good, iss="evil"), key=key), "issuer"),
            "no expiry": (forge({k: v for k, v in good.items() if k != "exp"}, key=key), "no expiry"),
            "wrong room": (forge(dict(good, room="elsewhere"), key=key), "room 'elsewhere'"),
            "wrong signature": (forge(good, key="not-the-key"), "signature"),
            "alg none": (forge(good, alg="none"), "algorithm none"),
            "garbage": ("a.b.c", "not a JWT"),
        }
        for name, (bad, reason) in cases.items():
            s = RoomSocket(url)
            r = s.request("joinRoom", {"user": "alice", "room": "r", "token": bad})
            s.close()
            assert r["error"]["code"] == 401 and reason in r["error"]["message"], (name, r)
        # HS256 from the CLI, with the audience and issuer the server wants.
        s = RoomSocket(url)
        t = token("--room", "r", "--user", "alice", "--role", "publisher", "--key", key, "--audience", "tessera",
                  "--issuer", "auth.test", "--ttl", "10m")
        assert s.result("joinRoom", {"user": "alice", "room": "r", "token": t})["role"] == "publisher"
        # A publisher may not record unless its token grants it.
        assert s.request("startRecording", {})["error"]["code"] == 401
        s.close()
        # ES256 from the CLI: a subscriber for any room, allowed to record.
        b = RoomSocket(url)
        t = token("--room", "*", "--user", "bot", "--role", "subscriber", "--private-key", str(priv), "--audience", "tessera",
                  "--issuer", "auth.test", "--record", "true")
        assert b.result("joinRoom", {"user": "bot", "room": "r", "token": t})["role"] == "subscriber"
        assert b.request("publishVideo", {"sdpOffer": "v=0", "doLoopback": False})["error"]["code"] == 401
        # The same ES256 token with one signature byte changed is refused.
        head, payload, sig = t.split(".")
        flipped = sig[:-3] + ("A" if sig[-3] != "A" else "B") + sig[-2:]
        c = RoomSocket(url)
        assert c.request("joinRoom", {"user": "bot", "room": "r", "token": f"{head}.{payload}.{flipped}"})["error"]["code"] == 401
        b.close()
        c.close()
    finally:
        server.stop()
