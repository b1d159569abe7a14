"""A throwaway PostgreSQL server for the cluster tests: initdb in a temporary
directory and pg_ctl on a free loopback port, as the `postgres` user when the
tests run as root (initdb refuses root). `.ci/run` installs Debian's
postgresql package; nothing here uses the system's own cluster."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from conftest import free_port


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"{name} not found: `make test` installs Debian's postgresql package"
    return found[-1]


class Postgres:
    def __init__(self, listen=("127.0.0.1",), clients=()):
        """`listen`: addresses to serve on; `clients`: further networks (CIDR) allowed in."""
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tessera-pg-")
        self.data = os.path.join(self.dir, "data")
        self.as_user = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(_bin("initdb"), "-D", self.data, "-U", "tessera", "--auth=trust", "-E", "UTF8")
        if clients:
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                for network in clients:
                    f.write(f"host all all {network} trust\n")
        addresses = ",".join(listen)
        self._run(_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "30",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses={addresses} -c fsync=off", "start")

    @property
    def url(self):
        return self.url_at("127.0.0.1")

    def url_at(self, address):
        return f"postgres://tessera@{address}:{self.port}/postgres"

    def _run(self, *args):
        r = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (args, r.stdout, r.stderr)

    def sql(self, query):
        r = subprocess.run([_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "tessera", "-d", "postgres",
                            "-At", "-c", query], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return [line.split("|") for line in r.stdout.splitlines() if line]

    def stop(self):
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
