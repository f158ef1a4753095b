"""Helpers for the tests of probed --metrics: the text format parsed back, the address
probed logged, and a real Prometheus server (Debian's prometheus package) scraping it."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """{(name, frozenset(labels)): value}, and the families' TYPE lines {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample line: " + line)
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples, types


def metrics_address(d, timeout=10):
    """HOST:PORT of the endpoint, as the daemon (a sledtest.Daemon) logged it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(r"metrics at http://(\S+)/metrics", d.log_text())
        if m:
            return m.group(1)
        time.sleep(0.02)
    raise RuntimeError("probed did not log its metrics address: " + d.log_text())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def promtool_check(body):
    """promtool check metrics on the text: (ok, what it said); ok is None without promtool."""
    promtool = shutil.which("promtool")
    if not promtool:
        return None, "no promtool"
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=30)
    said = (r.stdout + r.stderr).strip()
    return r.returncode == 0 and not said, said


class Prometheus:
    """A Prometheus server scraping addr every second, on a free port of its own."""

    def __init__(self, addr):
        self.addr = addr
        self.dir = tempfile.mkdtemp(prefix="sledtest-prom.")
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: sled\n    static_configs:\n"
                    f"      - targets: ['{addr}']\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        port = free_port()
        self.proc = subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus",
             "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.api = f"http://127.0.0.1:{port}/api/v1"

    def query(self, q):
        """The instant vector of q: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        return http_json(f"{self.api}/query?query=" + urllib.parse.quote(q))["data"]["result"]

    def health(self):
        targets = http_json(f"{self.api}/targets")["data"]["activeTargets"]
        return targets[0]["health"] if targets else None

    def wait_for(self, q, timeout=25):
        """Poll until the target is up and q has a result: (health, result)."""
        result, health = [], None
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            try:
                health = self.health()
                if health == "up":
                    result = self.query(q)
                    if result:
                        break
            except (urllib.error.URLError, ConnectionError, OSError, KeyError, IndexError):
                pass
            time.sleep(0.25)
        return health, result

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
