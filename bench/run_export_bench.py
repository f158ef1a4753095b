#!/usr/bin/python3
"""The daemon end to end: events per second from the rings of a live process to each
exporter, and probed's CPU per million events, in one table.

    bench/run_export_bench.py [BUILD_DIR] [--seconds S]

For each output, a fresh probed (-o that output) pinned to CPU 1 and stress_app (one
thread in a tight loop, sled mode) pinned to CPU 0 run for S seconds (default 3).  "exported" is what the probe's status
says the daemon took from the rings; "ring drops" what the app's threads could not
write because the daemon was behind (the producers are much faster than any exporter,
so the daemon runs flat out: exported/s is its throughput).  CPU is probed's user +
system time from /proc/PID/stat over the run; the receivers (python, reading and
discarding, answering Forward acks) run in this process and are not counted.  The
encoder alone, without rings, is bench/bench_export.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from sledtest import isolate_dev_shm  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sinks import Discard  # noqa: E402

build = next((a for a in sys.argv[1:] if not a.startswith("--") and not a[0].isdigit()),
             "build")
seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 3.0
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress = os.path.join(build, "tests", "integration", "stress_app")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


class Probed:
    """probed with exactly one output (the test helper's Daemon adds a JSON-lines file)."""

    def __init__(self, spec):
        self.dir = tempfile.mkdtemp(prefix="sled-export-bench-")
        self.socket = os.path.join(self.dir, "probed.sock")
        self.proc = subprocess.Popen(["taskset", "-c", "1", probed, "-S", self.socket, "-o", spec],
                                     stderr=subprocess.DEVNULL)
        while not os.path.exists(self.socket):
            time.sleep(0.01)

    def ctl(self, *args):
        r = subprocess.run([probectl, "-S", self.socket, "--json", *args],
                           capture_output=True, text=True, check=True)
        return json.loads(r.stdout)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(spec_fn, extra_rx=None):
    rx = extra_rx() if extra_rx else None
    d = Probed(spec_fn(rx))
    try:
        pid = d.ctl("enable", "stress:hit", "--pending")["id"]  # the app starts next
        app = subprocess.Popen(["taskset", "-c", "0", stress, "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        counts = lambda: [p for p in d.ctl("status")["probes"] if p["id"] == pid][0]  # noqa
        c0, t0, e0 = cpu_ticks(d.proc.pid), time.time(), counts()
        time.sleep(seconds)
        c1, t1, e1 = cpu_ticks(d.proc.pid), time.time(), counts()
        app.terminate()
        app.wait()
        out = d.ctl("status")["outputs"][0]
        exported = e1["exported"] - e0["exported"]
        drops = e1["dropped"] - e0["dropped"]
        cpu_s = (c1 - c0) / TICK
        return (exported / (t1 - t0), drops / (t1 - t0), cpu_s / (t1 - t0),
                1000 * cpu_s / max(exported / 1e6, 1e-9), out["dropped"])
    finally:
        d.stop()


def main():
    isolate_dev_shm()
    rows = [
        ("msgpack:/dev/null", lambda rx: "msgpack:/dev/null", None),
        ("jsonl:/dev/null", lambda rx: "jsonl:/dev/null", None),
        ("msgpack+tcp (discard)", lambda rx: "msgpack+tcp://127.0.0.1:%d" % rx.port, Discard),
        ("forward (discard)", lambda rx: "forward://127.0.0.1:%d" % rx.port, Discard),
        ("forward ?ack=1 (acked)", lambda rx: "forward://127.0.0.1:%d?ack=1" % rx.port,
         lambda: Discard(ack=True)),
        ("syslog tcp (discard)", lambda rx: "syslog://127.0.0.1:%d" % rx.port, Discard),
    ]
    print("probed end to end: stress_app (1 thread, tight loop) -> rings -> probed -> output;"
          " %.0f s per row" % seconds)
    print("%-26s %14s %14s %10s %14s %12s" % ("output", "exported/s", "ring drops/s",
                                               "probed CPU", "CPU ms / 1M", "out dropped"))
    base = None
    for name, spec, rx in rows:
        r = run(spec, rx)
        base = base or r[0]
        print("%-26s %14.0f %14.0f %9.0f%% %14.1f %12d   %.2fx" % (
            name, r[0], r[1], 100 * r[2], r[3], r[4], r[0] / base))


if __name__ == "__main__":
    main()
