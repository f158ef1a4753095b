#!/usr/bin/env python3
"""Does sled mode keep up with a bursty server?  bench_burst through a real probed.

    bench/run_burst_bench.py [BUILD_DIR] [--rates 0.25,0.5,1,2,4] [--seconds S]
                             [--threads N] [--output msgpack|tcp] [--label NAME]

For each average rate (millions of events per second): probed (pinned to the last CPU)
writes msgpack to a file on /dev/shm (or to a local TCP msgpack receiver with --output tcp),
bench_burst (pinned to CPU 0) writes bursts of 4,000 events with a string, then pauses.
Prints one Markdown row per rate: events emitted, dropped in full rings (%), and probed's
CPU seconds per million events.  Run as root (probed attaches the process).  Run it with a
build of main too, to compare drain policies; rows are labelled with --label.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

args = sys.argv[1:]


def opt(name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


rates = [float(x) for x in opt("--rates", "0.25,0.5,1,2,4").split(",")]
seconds = float(opt("--seconds", "2"))
threads = int(opt("--threads", "1"))
output = opt("--output", "msgpack")
label = opt("--label", "this build")
ring_size = opt("--ring-size", "")
build = args[0] if args else "build"
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
bench = os.path.join(build, "bench", "bench_burst")
ncpu = os.cpu_count() or 1
PIN_APP = ["taskset", "-c", "0"] if ncpu >= 2 else []
PIN_DAEMON = ["taskset", "-c", str(ncpu - 1)] if ncpu >= 2 else []


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tcp_sink():
    """A receiver that reads and discards: msgpack over TCP keeps up if the encoder does."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        c, _ = srv.accept()
        while c.recv(1 << 20):
            pass
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def one(rate_m):
    d = tempfile.mkdtemp(prefix="burst.", dir="/dev/shm")
    sock = os.path.join(d, "probed.sock")
    spec = ("msgpack+tcp://127.0.0.1:%d" % tcp_sink()) if output == "tcp" else \
        "msgpack:" + os.path.join(d, "events.msgpack")
    daemon = subprocess.Popen(PIN_DAEMON + [probed, "-S", sock, "-o", spec],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(sock):
        time.sleep(0.01)
    env = dict(os.environ)
    if ring_size:
        env["SLED_RING_SIZE"] = ring_size
    app = subprocess.Popen(PIN_APP + [bench, str(threads), str(rate_m * 1e6), str(seconds)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    pid = int(app.stdout.readline().split()[1])
    ctl = [probectl, "-S", sock]
    for _ in range(100):
        r = subprocess.run(ctl + ["--json", "enable", "burst:cmd", "-p", str(pid), "--mode",
                                  "sled"], capture_output=True, text=True)
        if r.returncode == 0:
            break
        time.sleep(0.05)
    probe = json.loads(r.stdout)
    pid_probe = probe.get("id", probe.get("probe", 1)) if isinstance(probe, dict) else 1
    cpu0 = cpu_seconds(daemon.pid)
    app.stdin.write("go\n")
    app.stdin.flush()
    emitted = int(app.stdout.readline().split()[1])
    app.wait()
    row = None
    for _ in range(100):
        st = json.loads(subprocess.run(ctl + ["--json", "status"], capture_output=True,
                                       text=True).stdout)
        rows = [p for p in st["probes"] if p["id"] == pid_probe] or st["probes"]
        row = rows[0]
        if row["emitted"] == row["exported"] + row["dropped"] and row["emitted"] >= emitted:
            break
        time.sleep(0.05)
    cpu = cpu_seconds(daemon.pid) - cpu0
    daemon.terminate()
    daemon.wait()
    subprocess.run(["rm", "-rf", d])
    return row["emitted"], row["dropped"], cpu


print(f"| build | threads | output | M events/s | emitted | dropped | drop % | probed CPU s / M events |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for rate in rates:
    emitted, dropped, cpu = one(rate)
    pct = 100.0 * dropped / emitted if emitted else 0.0
    per_m = cpu / (emitted / 1e6) if emitted else 0.0
    print(f"| {label} | {threads} | {output} | {rate:g} | {emitted} | {dropped} | {pct:.2f} | "
          f"{per_m:.3f} |", flush=True)
