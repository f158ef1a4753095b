#!/usr/bin/python3
"""Does sled mode keep up with a bursty server?  bench_burst through a real probed.

    bench/run_burst_bench.py [BUILD_DIR] [--rates 0.25,0.5,1,2,4] [--seconds S]
                             [--threads N] [--outputs msgpack,tcp,forward,forward-ack]
                             [--ring-size SIZE] [--label NAME]

For each output and each average rate (millions of events per second), a fresh probed
(pinned to the last CPU) with that one output, and bench_burst (pinned to CPU 0) writing
bursts of 4,000 events with a string, then pausing.  Outputs:

    msgpack      msgpack to a file on /dev/shm
    tcp          msgpack+tcp:// into a local receiver that reads and discards
    forward      forward:// (Fluent Forward, no ack) into a local receiver that parses each
                 PackedForward message and counts its events
    forward-ack  forward://...?ack=1, the same receiver answering every chunk id

(--output NAME, one of them, is the older spelling of --outputs.)  The receivers are
threads of this script, unpinned, and their CPU is not counted.

Prints one Markdown row per output and rate: events the app emitted, dropped in full rings
(%), dropped by the output (its queue full or its receiver gone), probed's CPU seconds per
million events (user + system, polling included), and "check": "ok" when the probe's
counters add up (emitted by the app = exported + dropped) and, for Forward, the receiver
counted exactly the exported events; otherwise what did not.  Run as root (probed attaches
the process).  Run it with a build of main too, to compare; rows are labelled with --label.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sinks import Discard  # noqa: E402

args = sys.argv[1:]


def opt(name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


OUTPUTS = ("msgpack", "tcp", "forward", "forward-ack")
rates = [float(x) for x in opt("--rates", "0.25,0.5,1,2,4").split(",")]
seconds = float(opt("--seconds", "2"))
threads = int(opt("--threads", "1"))
outputs = opt("--outputs", opt("--output", "msgpack")).split(",")
label = opt("--label", "this build")
ring_size = opt("--ring-size", "")
build = args[0] if args else "build"
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
bench = os.path.join(build, "bench", "bench_burst")
ncpu = os.cpu_count() or 1
PIN_APP = ["taskset", "-c", "0"] if ncpu >= 2 else []
PIN_DAEMON = ["taskset", "-c", str(ncpu - 1)] if ncpu >= 2 else []
for o in outputs:
    if o not in OUTPUTS:
        sys.exit(f"Error: unknown output '{o}' (one of {', '.join(OUTPUTS)})")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def output_spec(output, d):
    """The -o spec for output, and the receiver (None for the file)."""
    if output == "msgpack":
        return "msgpack:" + os.path.join(d, "events.msgpack"), None
    if output == "tcp":
        rx = Discard()
        return "msgpack+tcp://127.0.0.1:%d" % rx.port, rx
    rx = Discard(ack=output == "forward-ack", forward=True)
    return "forward://127.0.0.1:%d%s" % (rx.port, "?ack=1" if output == "forward-ack" else ""), rx


def status(ctl):
    return json.loads(subprocess.run(ctl + ["--json", "status"], capture_output=True,
                                     text=True).stdout)


def one(output, rate_m):
    d = tempfile.mkdtemp(prefix="burst.", dir="/dev/shm")
    sock = os.path.join(d, "probed.sock")
    spec, rx = output_spec(output, d)
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
    app.stdin.close()
    app.wait()
    # Wait for the drain and the output to settle: every event accounted for by the probe,
    # the output's queue empty, and the Forward receiver's count no longer moving.
    row, out, got = None, None, None
    for _ in range(200):
        st = status(ctl)
        rows = [p for p in st["probes"] if p["id"] == pid_probe] or st["probes"]
        row, out = rows[0], st["outputs"][0]
        now = rx.total("sled.burst.") if rx and rx.forward else None
        if (row["emitted"] == row["exported"] + row["dropped"] and row["emitted"] >= emitted
                and not out.get("queued") and now == got):
            break
        got = now
        time.sleep(0.05)
    cpu = cpu_seconds(daemon.pid) - cpu0
    daemon.terminate()
    daemon.wait()
    if rx:
        rx.close()
    subprocess.run(["rm", "-rf", d])
    problems = []
    if row["emitted"] != emitted:
        problems.append(f"probe emitted {row['emitted']} != app {emitted}")
    if row["exported"] + row["dropped"] != emitted:
        problems.append(f"exported {row['exported']} + dropped {row['dropped']} != {emitted}")
    if got is not None and got != row["exported"] - out["dropped"]:
        problems.append(f"receiver counted {got}, exported - output dropped "
                        f"{row['exported'] - out['dropped']}")
    return emitted, row["dropped"], out["dropped"], cpu, "; ".join(problems) or "ok"


print("| build | threads | output | M events/s | emitted | ring dropped | drop % | output dropped "
      "| probed CPU s / M events | check |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
for output in outputs:
    for rate in rates:
        emitted, dropped, out_dropped, cpu, check = one(output, rate)
        pct = 100.0 * dropped / emitted if emitted else 0.0
        per_m = cpu / (emitted / 1e6) if emitted else 0.0
        print(f"| {label} | {threads} | {output} | {rate:g} | {emitted} | {dropped} | {pct:.2f} | "
              f"{out_dropped} | {per_m:.3f} | {check} |", flush=True)
