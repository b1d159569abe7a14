"""The binary as an operator starts it: outside the repository, with or without --config."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

from conftest import BIN, free_port


def test_runs_on_built_in_defaults_outside_the_repository():
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tessera-cli-") as cwd:
        env = dict(os.environ, TESSERA_ADDRESS="127.0.0.1", TESSERA_PORT=str(port), TESSERA_ICE_UDP_PORT="0",
                   TESSERA_ICE_HOST_ADDRESSES="127.0.0.1")
        proc = subprocess.Popen([BIN], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            health = None
            deadline = time.time() + 30
            while time.time() < deadline and proc.poll() is None and health is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        health = json.loads(r.read())
                except OSError:
                    time.sleep(0.1)
            assert health is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
            # The default recording directory is made relative to where it runs.
            assert os.path.isdir(os.path.join(cwd, "recordings"))
        finally:
            proc.terminate()
            proc.wait(10)


def test_a_config_file_that_is_named_and_missing_is_an_error():
    with tempfile.TemporaryDirectory(prefix="tessera-cli-") as cwd:
        r = subprocess.run([BIN, "--config", "nowhere.json"], cwd=cwd, capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r
        assert "nowhere.json" in r.stderr and "cannot read" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1  # one line


def test_help_wraps_whole_sentences():
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    overview = r.stdout.split("USAGE:")[0]
    # One paragraph, wrapped by the parser: no line ends in the middle of "the config file".
    assert "Settings come from the config file, then" in overview.replace("\n", " ")
    assert "\n\n" not in overview.strip().split("\n\n", 1)[1], overview
