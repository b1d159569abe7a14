"""make soak: the churn soak. Does a server that has lived through many rooms and sessions give back
every object, media node, file descriptor and thread, and does its memory stay flat?

One release server runs on loopback, pinned to core 0 (tessera-load on the other cores). Cycles run
until --minutes are up (a cycle that has started is finished, so the run can overrun by one cycle).
Each cycle:

  (a) a room cycle of 12 real WebRTC peers (tessera-load: full ICE, DTLS, SRTP), the room's mode
      turning sfu -> mcu -> hybrid from cycle to cycle and the scenario alternating between
      audio-room (everyone publishes Opus and receives the room) and video-room (2 of every 6 publish
      VP8 and a tone, everyone subscribes). The peers come from two tessera-load processes of 6: one
      runs its measurement window and leaves cleanly (leaveRoom), the other is killed with SIGKILL in
      the middle of its window: its WebSockets drop without a leave and its media stops, which is a
      vanishing client. tessera-load names its participants load0, load1, ... in every process, so two
      processes cannot share a room (error 104); unless tessera-load offers --name-prefix, the
      vanishing half gets a room of its own (same mode, same cycle), and the server has to evict its
      participants one by one after the room grace period and close the room.
  (b) a Kurento-protocol cycle, run while the peers of (a) are in their rooms: a MediaPipeline with
      WebRtcEndpoints (generateOffer, gatherCandidates, connect, disconnect), a Composite with
      HubPorts, a RecorderEndpoint (file:// in the recording directory) fed by a HubPort, record then
      stop, a PassThrough and a DispatcherOneToMany; a few objects released one by one, then the
      pipeline. A second session builds the same kind of graph (its recorder still recording) and drops
      its socket without releasing anything (no close frame): the server must collect it after the
      session grace period.

After each cycle the script waits until /health reports objects and nodes back at the baseline, then
reads VmRSS, open fds and threads from /proc/PID and prints one line. Before the reading it creates and
releases an empty MediaPipeline and waits --settle seconds: the server trims its heap (malloc_trim) 2 s
after a pipeline is released, folding the releases of those 2 s into one trim, so memory freed later
(the last participants of a room leaving, a mixer or recording finishing after the room's pipeline went)
would otherwise stay in glibc's arenas until the next release, and an RSS reading would depend on where
in that cycle it fell (one emptied video MCU room read 96 MB before the trim and 54 MB after it). The
request waits 2.5 s first, so that a trim already pending (asked for by the room's own release) has run
and cannot absorb it. Every reading thus comes after a trim of its own; --no-trim reads without one.

At the end it prints baseline against final values, the RSS slope after warm-up (least squares over the
cycles after the first two, --warmup) against the goal of < 0.5 MB per cycle, and writes everything as
JSON to --out (the server's log goes beside it, FILE.server.log).

Short grace periods, so vanished clients are collected within a cycle: TESSERA_GRACE_PERIOD (Kurento
sessions, sessions.gracePeriodSeconds; 5 s here, 240 s by default) and TESSERA_ROOM_GRACE (room
participants whose socket dropped, rooms.reconnectGraceSeconds; 3 s here, 10 s by default).

Nothing here asserts anything that depends on timing (packet rates, connected counts and the RSS slope
are reported, not judged). The exit status is 1 when objects, nodes, fds or threads do not come back to
the baseline, or when the server dies; 0 otherwise.

usage: .venv/bin/python Benchmarks/soak/soak.py [--minutes 10] [--bin .build/release/tessera]
       [--load-bin .build/release/tessera-load] [--out FILE]
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

try:
    import websocket  # websocket-client, from the repo's .venv (make deps-py)
except ImportError:
    sys.exit("soak.py needs websocket-client: run it with .venv/bin/python (make deps-py)")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TESSERA = os.path.join(REPO, ".build", "release", "tessera")
LOAD = os.path.join(REPO, ".build", "release", "tessera-load")

MODES = ["sfu", "mcu", "hybrid"]
SCENARIOS = ["audio-room", "video-room"]
GOAL_MB_PER_CYCLE = 0.5
WARMUP_CYCLES = 2


# MARK: the server and /proc

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        return json.loads(r.read())


def proc_stats(pid):
    """RSS (MB), open fds and threads of a live process, from /proc."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
                break
    return {"rssMB": round(rss, 1), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


def socket_protocols(pid):
    """Socket inode -> tcp, udp, unix... from /proc/PID/net."""
    protocols = {}
    for proto in ("tcp", "tcp6", "udp", "udp6", "unix", "netlink"):
        try:
            with open(f"/proc/{pid}/net/{proto}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            parts = row.split()
            inode = parts[6] if proto == "unix" else parts[-1] if proto == "netlink" else parts[9] if len(parts) > 9 else None
            if inode:
                protocols[inode] = proto
    return protocols


def fd_kinds(pid):
    """What the open fds are (a unix/tcp/udp socket, a pipe, an eventfd, a path...), counted: printed when fds leak."""
    kinds = {}
    protocols = socket_protocols(pid)
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", target)
        if m:
            kind = "socket " + protocols.get(m.group(1), "?")
        else:
            kind = re.sub(r"\[\d+\]$", "", target) if not target.startswith("/") else "file " + target
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def thread_names(pid):
    names = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        names[name] = names.get(name, 0) + 1
    return names


class Server:
    def __init__(self, binary, tmp, log_path, grace, room_grace, log_level, extra_env=()):
        self.port = free_port()
        self.recordings = os.path.join(tmp, "recordings")
        os.makedirs(self.recordings)
        self.env = {
            "TESSERA_ADDRESS": "127.0.0.1", "TESSERA_PORT": str(self.port),
            "TESSERA_ICE_HOST_ADDRESSES": "127.0.0.1", "TESSERA_ICE_UDP_PORT": "0",
            "TESSERA_LOG_LEVEL": log_level, "TESSERA_RECORDING_DIR": self.recordings,
            # Vanished clients are collected within a cycle.
            "TESSERA_GRACE_PERIOD": str(grace), "TESSERA_ROOM_GRACE": str(room_grace),
        }
        self.env.update(dict(e.split("=", 1) for e in extra_env))
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", binary, "--config", os.path.join(REPO, "Config", "tessera.json")],
            env=dict(os.environ, **self.env), cwd=tmp, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid  # taskset execs the server: same pid
        deadline = time.time() + 30
        while True:
            self.check()
            try:
                health(self.port)
                return
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("the server did not answer /health within 30 s")
                time.sleep(0.1)

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    def alive(self):
        return self.proc.poll() is None

    def check(self):
        if not self.alive():
            raise ServerDied(self.proc.returncode, self.log_tail())

    def log_tail(self, lines=40):
        self.log.flush()
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then the exit status (None if it had to be killed)."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.log.close()
                return None
        self.log.close()
        return self.proc.returncode


class ServerDied(Exception):
    def __init__(self, code, tail):
        super().__init__(f"the server exited with status {code}")
        self.code, self.tail = code, tail


# MARK: the room cycle (tessera-load)

def load_supports(load_bin, option):
    p = subprocess.run([load_bin, "audio-room", "--help"], capture_output=True, text=True, timeout=30)
    return option in p.stdout


def generator_cores():
    cores = os.cpu_count() or 2
    return ",".join(str(c) for c in range(1, cores)) or "0", max(1, cores - 1)


def load_cmd(args, server, scenario, mode, room, seconds, prefix=None):
    cores, loops = generator_cores()
    cmd = ["taskset", "-c", cores, args.load_bin, scenario, "--url", server.url, "--peers", str(args.peers // 2),
           "--seconds", str(seconds), "--room", room, "--mode", mode, "--json", "--server-pid", str(server.pid),
           "--loops", str(loops), "--join-rate", "50", "--decode-sample", "1"]
    if scenario == "video-room":
        cmd += ["--publishers", str(max(1, args.peers // 6))]
    else:
        cmd += ["--talkers", "3"]
    if prefix:
        cmd += ["--name-prefix", prefix]
    return cmd


PROGRESS = re.compile(r"^(\w+) t=(\d+)s peers (\d+)/(\d+) connected, (\d+) failed")


class Vanisher:
    """The tessera-load process that gets SIGKILLed `kill_after` seconds into its measurement window."""

    def __init__(self, cmd, kill_after):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.kill_after = kill_after
        self.last = None        # the last progress line, parsed
        self.killed_at = None   # seconds into its window
        self.lines = []
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        for line in self.proc.stderr:
            line = line.strip()
            self.lines = (self.lines + [line])[-5:]
            m = PROGRESS.match(line)
            if not m:
                continue
            phase, t, connected, peers, failed = m.group(1), *map(int, m.groups()[1:])
            self.last = {"phase": phase, "t": t, "connected": connected, "peers": peers, "failed": failed}
            if phase == "measuring" and t >= self.kill_after and self.killed_at is None:
                self.kill(t)

    def kill(self, t=None):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.killed_at = t
        self.proc.wait()

    def result(self):
        self.thread.join(timeout=5)
        r = {"connected": (self.last or {}).get("connected", 0), "failed": (self.last or {}).get("failed", 0),
             "killedAtSecond": self.killed_at}
        if self.killed_at is None:
            # It ended (or was killed) before its window: say why.
            r["note"] = (f"not killed in its window (exit {self.proc.returncode}): " + " | ".join(self.lines[-2:]))[:300]
        return r


def room_cycle(args, server, cycle, mode, scenario, same_room, kurento_work):
    """Both tessera-load processes, then `kurento_work()` while they are in their rooms."""
    room = f"soak{cycle}{mode}"
    stayer_out = tempfile.TemporaryFile(mode="w+")
    stayer_err = tempfile.TemporaryFile(mode="w+")
    stayer = subprocess.Popen(load_cmd(args, server, scenario, mode, room, args.room_seconds),
                              stdout=stayer_out, stderr=stayer_err, text=True)
    vanisher_room = room if same_room else room + "v"
    # Its window is never reached in full: it is killed halfway through the stayer's.
    vanisher = Vanisher(load_cmd(args, server, scenario, mode, vanisher_room, 3600, "v" if same_room else None),
                        kill_after=max(1, args.room_seconds // 2))
    kurento = kurento_work()
    try:
        stayer.wait(timeout=args.room_seconds + 120)
    except subprocess.TimeoutExpired:
        stayer.kill()
        stayer.wait()
    vanisher.kill()  # if the stayer ended first (it should not)
    stayer_out.seek(0)
    stayer_err.seek(0)
    text = stayer_out.read()
    try:
        report = json.loads(text)
    except ValueError:
        report = {"error": (stayer_err.read().strip().splitlines() or ["no output"])[-1][:300]}
    stayer_out.close()
    stayer_err.close()
    stay = {"connected": report.get("connected", 0), "failed": report.get("failed", 0),
            "minPacketsPerSecond": report.get("receivedPacketsPerSecondPerParticipant", {}).get("min"),
            "p50PacketsPerSecond": report.get("receivedPacketsPerSecondPerParticipant", {}).get("p50"),
            "loss": report.get("loss"), "serverCpuPercent": report.get("server", {}).get("cpuPercent"),
            "peakRssMB": report.get("server", {}).get("rssMB")}
    if "video" in report:
        stay["minVideoFps"] = report["video"]["framesPerSecondPerViewer"]["min"]
    if report.get("failures"):
        stay["failures"] = report["failures"]
    if "error" in report:
        stay["error"] = report["error"]
    return {"room": room, "vanisherRoom": vanisher_room, "scenario": scenario, "mode": mode,
            "stayers": stay, "vanishers": vanisher.result(), "kurento": kurento}


# MARK: the Kurento-protocol cycle

class KurentoError(Exception):
    pass


class Kurento:
    """A raw Kurento-protocol client (as Tests/EndToEnd/conftest.py's Client): events are read and dropped."""

    def __init__(self, url, timeout=15):
        self.ws = websocket.create_connection(url + "/kurento", timeout=timeout)
        self.next_id = 0
        self.session = None

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.next_id:
                break
        if "error" in m:
            raise KurentoError(f"{method} {json.dumps(params)[:120]}: {m['error']}")
        self.session = m["result"].get("sessionId", self.session)
        return m["result"].get("value")

    def create(self, type_, **params):
        return self.request("create", {"type": type_, "constructorParams": params})

    def invoke(self, obj, operation, **params):
        return self.request("invoke", {"object": obj, "operation": operation, "operationParams": params})

    def release(self, obj):
        self.request("release", {"object": obj})

    def subscribe(self, obj, event):
        self.request("subscribe", {"object": obj, "type": event})

    def close(self):
        self.ws.close()

    def vanish(self):
        """Drops the TCP connection: no close frame, no release."""
        self.ws.shutdown()


def build_graph(k, recordings, name):
    """A pipeline with every kind of element the soak covers; returns the ids by role."""
    ids = {}
    p = ids["pipeline"] = k.create("MediaPipeline")
    webrtc = ids["webrtc"] = [k.create("WebRtcEndpoint", mediaPipeline=p) for _ in range(4)]
    for w in webrtc:
        k.subscribe(w, "IceCandidateFound")
    k.invoke(webrtc[0], "generateOffer")
    k.invoke(webrtc[0], "gatherCandidates")
    k.invoke(webrtc[0], "connect", sink=webrtc[1])
    k.invoke(webrtc[1], "connect", sink=webrtc[0])
    composite = ids["composite"] = k.create("Composite", mediaPipeline=p)
    ports = ids["compositePorts"] = [k.create("HubPort", hub=composite) for _ in range(3)]
    for w, port in zip(webrtc[:2], ports):
        k.invoke(w, "connect", sink=port)
        k.invoke(port, "connect", sink=w)
    recorder = ids["recorder"] = k.create("RecorderEndpoint", mediaPipeline=p,
                                          uri="file://" + os.path.join(recordings, name + ".webm"), mediaProfile="WEBM")
    k.invoke(ports[2], "connect", sink=recorder)
    passthrough = ids["passthrough"] = k.create("PassThrough", mediaPipeline=p)
    k.invoke(webrtc[2], "connect", sink=passthrough)
    k.invoke(passthrough, "connect", sink=webrtc[3])
    dispatcher = ids["dispatcher"] = k.create("DispatcherOneToMany", mediaPipeline=p)
    dports = ids["dispatcherPorts"] = [k.create("HubPort", hub=dispatcher) for _ in range(3)]
    k.invoke(dispatcher, "setSource", source=dports[0])
    k.invoke(webrtc[3], "connect", sink=dports[0])
    k.invoke(dports[1], "connect", sink=webrtc[2])
    k.invoke(dports[2], "connect", sink=passthrough)
    return ids


def kurento_cycle(url, recordings, cycle, record_seconds=1.0):
    """One clean session (everything released) and one that vanishes; never raises, returns what happened."""
    out = {"errors": []}
    clean = f"soak{cycle}"
    try:
        k = Kurento(url)
        try:
            g = build_graph(k, recordings, clean)
            k.invoke(g["recorder"], "record")
            time.sleep(record_seconds)
            k.invoke(g["recorder"], "stop")
            k.invoke(g["webrtc"][2], "disconnect", sink=g["passthrough"])
            k.invoke(g["dispatcher"], "removeSource")
            # Some objects one by one, the rest with their pipeline.
            k.release(g["dispatcherPorts"][2])
            k.release(g["compositePorts"][1])
            k.release(g["webrtc"][3])
            k.release(g["pipeline"])
        finally:
            k.close()
    except Exception as e:  # noqa: BLE001 - reported, the soak goes on
        out["errors"].append(f"clean session: {e}"[:300])
    try:
        k = Kurento(url)
        g = build_graph(k, recordings, clean + "-vanished")
        k.invoke(g["recorder"], "record")
        out["vanishedSession"] = k.session
        k.vanish()
    except Exception as e:  # noqa: BLE001
        out["errors"].append(f"vanishing session: {e}"[:300])
    return out


def request_trim(url):
    """Creates and releases an empty MediaPipeline: the server trims its heap (malloc_trim) 2 s after a pipeline
    is released (Sources/Transport/MemoryTrim.swift). Returns an error text, or None."""
    try:
        k = Kurento(url)
        try:
            k.release(k.create("MediaPipeline"))
        finally:
            k.close()
    except Exception as e:  # noqa: BLE001
        return f"trim request: {e}"[:300]
    return None


class KurentoThread:
    """Runs kurento_cycle beside the room cycle."""

    def __init__(self, url, recordings, cycle):
        self.result = {"errors": ["did not finish"]}
        self.thread = threading.Thread(target=self._run, args=(url, recordings, cycle), daemon=True)
        self.thread.start()

    def _run(self, *a):
        self.result = kurento_cycle(*a)

    def join(self):
        self.thread.join(timeout=120)
        return self.result


# MARK: waiting for the baseline

def wait_baseline(server, base, timeout):
    """Polls /health until objects and nodes are back at the baseline; returns (health, seconds waited, reached)."""
    start = time.time()
    h = None
    while True:
        server.check()
        try:
            h = health(server.port)
            if h["objects"] == base["objects"] and h["nodes"] == base["nodes"]:
                return h, time.time() - start, True
        except OSError:
            pass
        if time.time() - start > timeout:
            return h or {}, time.time() - start, False
        time.sleep(0.25)


def fit(xs, ys):
    """Least-squares slope of ys over xs, or None."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


# MARK: main

def main():
    ap = argparse.ArgumentParser(description="Churn soak of a release tessera (see the module docstring).")
    ap.add_argument("--minutes", type=float, default=10, help="run cycles until this many minutes are up (default 10)")
    ap.add_argument("--bin", default=TESSERA, help="tessera binary (default .build/release/tessera)")
    ap.add_argument("--load-bin", default=LOAD, help="tessera-load binary (default .build/release/tessera-load)")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "tessera-soak.json"),
                    help="per-cycle data as JSON (default %(default)s); the server's log goes beside it (.server.log)")
    ap.add_argument("--peers", type=int, default=12, help="real peers per room cycle, half of them vanishing (default 12)")
    ap.add_argument("--room-seconds", type=int, default=10, help="measurement window of the peers who stay (default 10)")
    ap.add_argument("--grace", type=int, default=5, help="TESSERA_GRACE_PERIOD, Kurento sessions (default 5)")
    ap.add_argument("--room-grace", type=int, default=3, help="TESSERA_ROOM_GRACE, room participants (default 3)")
    ap.add_argument("--warmup", type=int, default=WARMUP_CYCLES,
                    help="cycles left out of the RSS slope (default %(default)s)")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds between the trim request and the /proc reading (the server trims 2 s after a release; default 3)")
    ap.add_argument("--no-trim", action="store_true",
                    help="read RSS without first making the server trim its heap (see the module docstring)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra server environment, e.g. MALLOC_ARENA_MAX=2 (repeatable)")
    ap.add_argument("--log-level", default="warning", help="TESSERA_LOG_LEVEL of the server (default warning)")
    args = ap.parse_args()
    if args.peers < 2 or args.peers % 2:
        sys.exit("--peers must be an even number >= 2")
    if any("=" not in e for e in args.env):
        sys.exit("--env takes NAME=VALUE")
    for path in (args.bin, args.load_bin):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: run `swift build -c release --product tessera` and `swift build -c release --product tessera-load` (SwiftPM builds only the last --product)")
    if shutil.which("taskset") is None:
        sys.exit("taskset (util-linux) is needed to pin the server and the generator")

    same_room = load_supports(args.load_bin, "--name-prefix")
    log_path = os.path.splitext(args.out)[0] + ".server.log"
    budget = args.minutes * 60
    baseline_timeout = max(args.grace, args.room_grace) + 60
    cycles = []
    leaks = []
    result = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
              "loadavgBefore": os.getloadavg(), "minutes": args.minutes, "peers": args.peers,
              "roomSeconds": args.room_seconds, "vanishersShareTheRoom": same_room, "cycles": cycles}
    exit_code = 0
    with tempfile.TemporaryDirectory(prefix="tessera-soak-") as tmp:
        server = Server(args.bin, tmp, log_path, args.grace, args.room_grace, args.log_level, args.env)
        result["serverEnv"] = server.env
        try:
            time.sleep(1)
            # fds and threads of the idle server, the fewest of a few readings (an HTTP connection to /health
            # or a dispatch worker can count for a moment); RSS after a trim, as every cycle's.
            base = health(server.port)
            readings = []
            for _ in range(5):
                time.sleep(0.2)
                readings.append(proc_stats(server.pid))
            base.update(fds=min(r["fds"] for r in readings), threads=min(r["threads"] for r in readings))
            if not args.no_trim:
                request_trim(server.url)
            time.sleep(args.settle)
            base["rssMB"] = proc_stats(server.pid)["rssMB"]
            base_fd_kinds, base_threads = fd_kinds(server.pid), thread_names(server.pid)
            result["baseline"] = base
            print(f"# Churn soak: {args.minutes:g} min; server pid {server.pid} on core 0 (port {server.port}), "
                  f"tessera-load on cores {generator_cores()[0]}; grace {args.grace} s (Kurento), {args.room_grace} s (rooms)")
            print(f"# {args.peers} peers per room cycle: {args.peers // 2} leave cleanly, {args.peers // 2} are SIGKILLed "
                  + ("in the same room" if same_room else "in a room of their own (tessera-load has no --name-prefix)"))
            print(f"baseline: sessions {base['sessions']}, objects {base['objects']}, nodes {base['nodes']}, "
                  f"fds {base['fds']}, threads {base['threads']}, RSS {base['rssMB']} MB", flush=True)
            print("cycle elapsed scenario/mode | stayers: conn pkt/s fps loss | vanishers: conn killed@ | kurento | "
                  "wait-s objects nodes sessions fds threads RSS-MB", flush=True)
            start = time.time()
            cycle = 0
            while time.time() - start < budget:
                cycle += 1
                mode, scenario = MODES[(cycle - 1) % len(MODES)], SCENARIOS[(cycle - 1) % len(SCENARIOS)]
                c = room_cycle(args, server, cycle, mode, scenario, same_room,
                               lambda: KurentoThread(server.url, server.recordings, cycle))
                c["kurento"] = c["kurento"].join()
                server.check()
                h, waited, reached = wait_baseline(server, base, baseline_timeout)
                h2 = health(server.port)
                trim_error = None
                if not args.no_trim:
                    # A trim the room's own release asked for is pending for 2 s and would absorb this request
                    # (and miss what is freed after it): let it run first.
                    time.sleep(2.5)
                    trim_error = request_trim(server.url)
                time.sleep(args.settle)
                server.check()
                stats = proc_stats(server.pid)
                if trim_error:
                    c["kurento"]["errors"].append(trim_error)
                # The recordings of both Kurento sessions (the vanished one is finished when it is collected).
                c["kurento"]["recordedBytes"] = {}
                for name in sorted(os.listdir(server.recordings)):
                    path = os.path.join(server.recordings, name)
                    c["kurento"]["recordedBytes"][name] = os.path.getsize(path)
                    os.remove(path)
                c.update({"cycle": cycle, "elapsedSeconds": round(time.time() - start, 1), "baselineReached": reached,
                          "waitSeconds": round(waited, 1), "sessions": h2.get("sessions"), "objects": h2.get("objects"),
                          "nodes": h2.get("nodes"), **stats})
                cycles.append(c)
                s, v, k = c["stayers"], c["vanishers"], c["kurento"]
                half = args.peers // 2
                def show(x, fmt):
                    return format(x, fmt) if x is not None else format("-", ">" + fmt.split(".")[0])
                recorded = all(size > 0 for size in k["recordedBytes"].values()) and len(k["recordedBytes"]) == 2
                print(f"{cycle:5d} {c['elapsedSeconds']:6.0f}s {scenario[:5]}/{mode:<6} | "
                      f"{s['connected']:>6}/{half} {show(s['minPacketsPerSecond'], '5.0f')} {show(s.get('minVideoFps'), '3.0f')} "
                      f"{show(s['loss'], '.3f'):>5} | {v['connected']:>8}/{half} "
                      f"{str(v['killedAtSecond']) + 's' if v['killedAtSecond'] is not None else 'no':>7} | "
                      f"{'ok' if not k['errors'] and recorded else 'ERR':>7} | {c['waitSeconds']:6.1f} {c['objects']:>7} {c['nodes']:>5} "
                      f"{c['sessions']:>8} {c['fds']:>3} {c['threads']:>7} {c['rssMB']:>6}", flush=True)
                if not k["errors"] and not recorded:
                    print(f"      ! a recording is missing or empty: {k['recordedBytes']}", flush=True)
                for problem in ([s["error"]] if "error" in s else []) + k["errors"] + ([v["note"]] if "note" in v else []):
                    print(f"      ! {problem}", flush=True)
                if s.get("failures"):
                    print(f"      ! stayers' failures: {s['failures']}", flush=True)
                if not reached:
                    print(f"      ! objects/nodes not back at the baseline after {baseline_timeout} s: {h}", flush=True)
                with open(args.out, "w") as f:
                    json.dump(result, f, indent=1)

            # The end: objects, nodes, fds and threads must be back where they started. fds and threads are
            # given a further 30 s (sockets and threads of released elements may close a moment later).
            h, waited, reached = wait_baseline(server, base, baseline_timeout)
            deadline = time.time() + 30
            final = proc_stats(server.pid)
            while time.time() < deadline and (final["fds"] > base["fds"] or final["threads"] > base["threads"]):
                time.sleep(1)
                final = proc_stats(server.pid)
            # The session of the last trim request is collected after the grace period.
            sessions_before = cycles[-1]["sessions"] if cycles else base["sessions"]
            deadline = time.time() + args.grace + 10
            while health(server.port)["sessions"] > sessions_before and time.time() < deadline:
                time.sleep(0.5)
            final.update(health(server.port))
            result["final"] = final
            for key in ("objects", "nodes", "fds", "threads"):
                if final[key] > base[key]:
                    leaks.append(f"{key}: baseline {base[key]}, final {final[key]}")
            if final["fds"] != base["fds"]:
                before, after = base_fd_kinds, fd_kinds(server.pid)
                result["fdKindsChanged"] = {k: [before.get(k, 0), after.get(k, 0)] for k in set(before) | set(after)
                                            if before.get(k, 0) != after.get(k, 0)}
            if final["threads"] != base["threads"]:
                before, after = base_threads, thread_names(server.pid)
                result["threadNamesChanged"] = {k: [before.get(k, 0), after.get(k, 0)] for k in set(before) | set(after)
                                                if before.get(k, 0) != after.get(k, 0)}
        except ServerDied as e:
            print(f"\n!! {e}; log tail:\n{e.tail}", flush=True)
            result["serverDied"] = {"status": e.code, "logTail": e.tail}
            exit_code = 1
        except KeyboardInterrupt:
            print("\ninterrupted", flush=True)
            result["interrupted"] = True
            exit_code = 130
        finally:
            status = server.stop()
            result["serverExitStatus"] = status

    # MARK: the summary
    print()
    print("# Summary")
    if "final" in result:
        b, f = result["baseline"], result["final"]
        print(f"cycles: {len(cycles)} in {cycles[-1]['elapsedSeconds'] / 60 if cycles else 0:.1f} min; "
              f"peers connected: {sum(c['stayers']['connected'] + c['vanishers']['connected'] for c in cycles)} "
              f"of {len(cycles) * args.peers}; vanishing halves killed mid-window: "
              f"{sum(c['vanishers']['killedAtSecond'] is not None for c in cycles)}; Kurento cycles without error: "
              f"{sum(not c['kurento']['errors'] for c in cycles)}")
        print("| | objects | nodes | sessions | fds | threads | RSS MB |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(f"| baseline | {b['objects']} | {b['nodes']} | {b['sessions']} | {b['fds']} | {b['threads']} | {b['rssMB']} |")
        print(f"| final | {f['objects']} | {f['nodes']} | {f['sessions']} | {f['fds']} | {f['threads']} | {f['rssMB']} |")
        if result.get("fdKindsChanged"):
            print(f"fds that changed (kind: [baseline, final]): {result['fdKindsChanged']}")
        if result.get("threadNamesChanged"):
            print(f"threads that changed (name: [baseline, final]): {result['threadNamesChanged']}")
        if f["sessions"] != b["sessions"]:
            print("(sessions: the room layer is a Kurento client of its own, in process; its session opens with the "
                  "first room and stays)")
    after = cycles[args.warmup:]
    slope = fit([c["cycle"] for c in after], [c["rssMB"] for c in after]) if len(after) >= 3 else None
    per_min = fit([c["elapsedSeconds"] / 60 for c in after], [c["rssMB"] for c in after]) if len(after) >= 3 else None
    result["rssSlopeMBPerCycle"] = None if slope is None else round(slope, 3)
    result["rssSlopeMBPerMinute"] = None if per_min is None else round(per_min, 3)
    if slope is None:
        verdict = f"not enough cycles for a slope ({len(cycles)}; needs {args.warmup + 3})"
    else:
        verdict = (f"meets the goal (< {GOAL_MB_PER_CYCLE} MB per cycle)" if slope < GOAL_MB_PER_CYCLE
                   else f"MISSES the goal (< {GOAL_MB_PER_CYCLE} MB per cycle)")
        print(f"RSS after warm-up (cycles {after[0]['cycle']}-{after[-1]['cycle']}): {after[0]['rssMB']} -> {after[-1]['rssMB']} MB; "
              f"least-squares slope {slope:+.3f} MB per cycle, {per_min:+.3f} MB per minute")
    result["verdict"] = verdict
    if len(after) >= 3:
        growth = {key: fit([c["cycle"] for c in after], [c[key] for c in after]) for key in ("fds", "threads")}
        print(f"after warm-up, per cycle: fds {growth['fds']:+.2f}, threads {growth['threads']:+.2f}")
        result["fdsPerCycle"], result["threadsPerCycle"] = round(growth["fds"], 3), round(growth["threads"], 3)
    late = cycles[len(cycles) // 2:]
    if len(late) >= 3 and len(cycles) >= 2 * (args.warmup + 3):
        late_slope = fit([c["cycle"] for c in late], [c["rssMB"] for c in late])
        result["rssSlopeMBPerCycleSecondHalf"] = round(late_slope, 3)
        print(f"(for comparison, RSS slope over the second half, cycles {late[0]['cycle']}-{late[-1]['cycle']}: "
              f"{late_slope:+.3f} MB per cycle)")
    print(f"verdict: {verdict}")
    if leaks:
        print("LEAK: " + "; ".join(leaks))
        exit_code = exit_code or 1
    elif "final" in result:
        print("objects, nodes, fds and threads are back at the baseline")
    if result.get("serverExitStatus") not in (0, None) and exit_code == 0:
        print(f"the server exited with status {result['serverExitStatus']} on SIGTERM")
    if result.get("serverExitStatus") is None and "serverDied" not in result:
        print("the server did not stop within 30 s of SIGTERM and was killed")
    result["leaks"] = leaks
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"(per-cycle data: {args.out}; server log: {log_path})")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
