"""Headless Chromium driven over its DevTools protocol (on loopback): open a
page, run script in it, click, take screenshots. The page's console lines
"RESULT {...}" also update `latest`, as with test_chromium.open_page."""
import base64
import json
import os
import re
import subprocess
import threading
import time
import urllib.request

import websocket

from test_chromium import CHROME, FLAGS


class Browser:
    def __init__(self, tmp_path, name, url, video=None, audio=None, extra_flags=(), size=(1280, 800)):
        self.name = name
        self.profile = os.path.join(str(tmp_path), f"{name}-profile")
        os.makedirs(self.profile, exist_ok=True)
        args = [CHROME, *FLAGS, "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
                f"--user-data-dir={self.profile}", f"--window-size={size[0]},{size[1]}", *extra_flags]
        if video:
            args.append(f"--use-file-for-fake-video-capture={video}")
        if audio:
            args.append(f"--use-file-for-fake-audio-capture={audio}")
        self.proc = subprocess.Popen([*args, url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        self.latest = {}
        self.console = []
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0
        self.ws = None
        self._attach()

    def _read(self):
        for line in self.proc.stderr:
            m = re.search(r'"RESULT (\{.*\})"', line)
            if m:
                try:
                    self.latest.update(json.loads(m.group(1).encode().decode("unicode_escape")))
                except ValueError:
                    pass  # a line the console's escaping garbled; status() reads the page directly
            elif "CONSOLE" in line:
                self.console.append(line.strip()[:300])

    def _attach(self, timeout=30):
        deadline = time.time() + timeout
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        while time.time() < deadline:
            if os.path.exists(port_file):
                lines = open(port_file).read().split()
                if lines:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{int(lines[0])}/json/list", timeout=2) as r:
                            pages = [t for t in json.load(r) if t.get("type") == "page"]
                        if pages:
                            self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
                            return
                    except OSError:
                        pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: Chromium's DevTools did not come up")

    def call(self, method, **params):
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == mine:
                if "error" in m:
                    raise AssertionError(f"{self.name}: {method}: {m['error']}")
                return m.get("result", {})

    def eval(self, expression):
        """The value of `expression` (awaited if a promise) in the page."""
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{self.name}: {expression}: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r.get("result", {}).get("value")

    def status(self):
        """The page's window.tesseraDemo, read now."""
        return self.eval("JSON.parse(JSON.stringify(window.tesseraDemo || {}))") or {}

    def click(self, selector):
        found = self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false; e.click(); return true; }})()")
        assert found, f"{self.name}: nothing matches {selector}"

    def rect(self, selector):
        return self.eval(f"(() => {{ const r = document.querySelector({json.dumps(selector)})?.getBoundingClientRect(); return r && {{x: r.x, y: r.y, w: r.width, h: r.height}}; }})()")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if self.ws:
                self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait()
