"""Helpers for the sled-mode integration tests: a real probed on a private socket, real
sample processes, probectl for every command, and checks that print one line each.

Tests import this module, build a Suite, and end with suite.finish()."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SITE_OFF = bytes([0x90, 0x0F, 0x1F, 0x44, 0x00, 0x00])


class Suite:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print("ok   " + what, flush=True)
        else:
            self.failed += 1
            print("FAIL " + what, flush=True)
        return ok

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


class Daemon:
    """probed on a private socket writing JSON lines to a file."""

    def __init__(self, probed, probectl, extra=()):
        self.probed, self.probectl = probed, probectl
        self.dir = tempfile.mkdtemp(prefix="sledtest.")
        self.socket = os.path.join(self.dir, "probed.sock")
        self.events_path = os.path.join(self.dir, "events.jsonl")
        self.log = open(os.path.join(self.dir, "probed.log"), "w")
        self.proc = subprocess.Popen(
            [probed, "-v", "-S", self.socket, "-o", "jsonl:" + self.events_path, *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not os.path.exists(self.socket):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("probed did not start: " + self.log_text())
            time.sleep(0.01)

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def ctl(self, *args, check=True):
        r = subprocess.run([self.probectl, "-S", self.socket, *args], capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"probectl {' '.join(args)} failed: {r.stderr.strip()}")
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def status(self):
        return self.ctl_json("status")

    def probe_counts(self, probe_id):
        for p in self.status()["probes"]:
            if p["id"] == probe_id:
                return p
        return None

    def wait_drained(self, probe_id, timeout=10):
        """Until emitted == exported + dropped and the figures stop moving."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            c = self.probe_counts(probe_id)
            if c and c["emitted"] == c["exported"] + c["dropped"] and c == last:
                return c
            last = c
            time.sleep(0.1)
        return last

    def events(self):
        out = []
        try:
            with open(self.events_path) as f:
                for line in f:
                    out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return out

    def kill(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        self.kill()
        self.log.close()


def start_app(argv, wait_for_block=True):
    """Start a process that links libsled and wait until its shared block exists."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    if wait_for_block:
        path = f"/dev/shm/sled.{p.pid}"
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.01)
    return p


def read_mem(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(n)


def site_addresses(probectl, pid, pattern):
    r = subprocess.run([probectl, "list", "--json", "-p", str(pid), pattern],
                       capture_output=True, text=True, check=True)
    return [s["address"] for row in json.loads(r.stdout) for s in row["sites"]]


def stop_app(p):
    if p.poll() is None:
        p.kill()
    p.wait()
