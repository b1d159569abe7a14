"""Hosts of our own on one machine: network namespaces joined by a bridge,
as several machines on one LAN (Linux `ip netns`, veth, bridge; root only).
The bridge carries PREFIX.254 on this side, so the tests' own peers and
servers reach every host; nothing here routes anywhere else, and everything
is removed on close."""
import os
import subprocess


def ip(*args, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (cmd, r.stderr)


class Hosts:
    def __init__(self, count, prefix="10.77.0"):
        self.prefix = prefix
        self.tag = f"ts{os.getpid() % 100000}"
        self.bridge = f"{self.tag}b"
        # The bridge lives in a namespace of its own: frames it forwards between
        # hosts meet no firewall there (the host's own may drop bridged traffic).
        self.hub = f"{self.tag}h"
        self.namespaces = []
        self.address = f"{prefix}.254"
        self.uplink = f"{self.tag}r"
        try:
            ip("netns", "add", self.hub)
            ip("link", "add", "name", self.bridge, "type", "bridge", ns=self.hub)
            ip("link", "set", self.bridge, "up", ns=self.hub)
            # This side's way onto the LAN: one veth, its far end on the bridge.
            ip("link", "add", self.uplink, "type", "veth", "peer", "name", f"{self.tag}q")
            ip("link", "set", f"{self.tag}q", "netns", self.hub)
            ip("link", "set", f"{self.tag}q", "master", self.bridge, ns=self.hub)
            ip("link", "set", f"{self.tag}q", "up", ns=self.hub)
            ip("addr", "add", f"{self.address}/24", "dev", self.uplink)
            ip("link", "set", self.uplink, "up")
            for i in range(1, count + 1):
                ns, inside, outside = f"{self.tag}n{i}", f"{self.tag}v{i}", f"{self.tag}p{i}"
                ip("netns", "add", ns)
                self.namespaces.append(ns)
                ip("link", "add", inside, "type", "veth", "peer", "name", outside)
                ip("link", "set", outside, "netns", self.hub)
                ip("link", "set", outside, "master", self.bridge, ns=self.hub)
                ip("link", "set", outside, "up", ns=self.hub)
                ip("link", "set", inside, "netns", ns)
                ip("addr", "add", f"{prefix}.{i}/24", "dev", inside, ns=ns)
                ip("link", "set", inside, "up", ns=ns)
                ip("link", "set", "lo", "up", ns=ns)
        except BaseException:
            self.close()
            raise

    def host(self, i):
        """The address of host `i` (from 1)."""
        return f"{self.prefix}.{i}"

    def prefix_command(self, i):
        """Runs a command on host `i`."""
        return ["ip", "netns", "exec", self.namespaces[i - 1]]

    @property
    def network(self):
        return f"{self.prefix}.0/24"

    def close(self):
        # Deleting a namespace deletes its end of the veth, and with it the other end.
        for ns in self.namespaces + [self.hub]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", self.uplink], capture_output=True, timeout=30)
