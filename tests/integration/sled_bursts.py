#!/usr/bin/env python3
"""Sled mode under bursts: two threads of bench_burst (bursts of 2,000 events with a string,
then a pause) at a modest average rate, through a real probed.

Checks: the daemon counts every event the app emitted; emitted = exported + dropped; the
events file holds exactly the exported ones; drops stay under a loose bound (the rate
bound is bench/run_burst_bench.py's job: no timing is asserted here); status shows the
process's ring size (SLED_RING_SIZE) and a fill high-water mark within it; a bad
SLED_RING_SIZE is one line on stderr and the default ring.

Usage: sled_bursts.py BUILD_DIR
"""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, stop_app, wait_until  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
bench = os.path.join(build, "bench", "bench_burst")
RATE, SECONDS, BURST = 200000, 1, 2000
DEFAULT_RING = 1024 * 1024


def run_burst(d, env, threads=2, stop_daemon=False):
    """Run bench_burst with a probe on its site; returns (emitted by the app, probe row,
    process row, stderr)."""
    app = subprocess.Popen([bench, str(threads), str(RATE), str(SECONDS), str(BURST)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=dict(os.environ, **env))
    try:
        pid = int(app.stdout.readline().split()[1])
        probe_id = None
        for _ in range(100):
            r = d.ctl("--json", "enable", "burst:cmd", "-p", str(pid), "--mode", "sled",
                      check=False)
            if r.returncode == 0:
                probe_id = json.loads(r.stdout)["id"]
                break
            subprocess.run(["sleep", "0.05"])
        proc_row = None
        if stop_daemon:  # nothing drains: the ring fills and the rest is dropped
            d.proc.send_signal(signal.SIGSTOP)
        app.stdin.write("go\n")
        app.stdin.flush()
        emitted = int(app.stdout.readline().split()[1])
        if stop_daemon:
            d.proc.send_signal(signal.SIGCONT)
        # The process row while it still runs (it has produced everything by now).
        seen = d.status()["processes"]
        for p in seen:
            if p["pid"] == pid:
                proc_row = p
        if proc_row is None:  # say what status did show, to tell a race from a bug
            print(f"# pid {pid} not among status's processes: "
                  f"{[(p['pid'], p['mode']) for p in seen]}")
        app.stdin.close()
        app.wait(timeout=30)
        row = d.wait_drained(probe_id) if probe_id else None
        if probe_id:
            d.ctl("disable", str(probe_id), check=False)
        return emitted, row, proc_row, app.stderr.read()
    finally:
        stop_app(app)


t = Suite()
d = Daemon(probed, probectl)
try:
    emitted, row, proc, err = run_burst(d, {"SLED_RING_SIZE": "256K"})
    t.check(row is not None, "the probe was enabled and its figures settled")
    if row:
        t.check(row["emitted"] == emitted,
                f"the daemon counted every event the app emitted ({row['emitted']} of {emitted})")
        t.check(row["emitted"] == row["exported"] + row["dropped"],
                f"emitted = exported + dropped ({row['emitted']} = {row['exported']} + "
                f"{row['dropped']})")
        t.check(row["dropped"] <= emitted // 10,
                f"drops under a loose bound of 10% at {RATE} events/s ({row['dropped']})")
        events = [e for e in d.events() if e.get("provider") == "burst"]
        t.check(len(events) == row["exported"],
                f"the events file holds every exported event ({len(events)})")
    t.check(proc is not None and proc.get("ring_size") == 256 * 1024,
            f"status shows the ring size SLED_RING_SIZE asked for ({proc and proc.get('ring_size')})")
    t.check(proc is not None and 0 < proc.get("fill_high_water", 0) <= 256 * 1024,
            f"status shows a fill high-water mark within the ring "
            f"({proc and proc.get('fill_high_water')})")
    human = d.ctl("status").stdout
    t.check("FILL_MAX" in human and "RING" in human, "probectl status has RING and FILL_MAX columns")

    _, row, proc, err = run_burst(d, {"SLED_RING_SIZE": "1000"}, threads=1)
    lines = [l for l in err.splitlines() if "SLED_RING_SIZE" in l]
    t.check(len(lines) == 1 and "power of two" in lines[0],
            f"a bad SLED_RING_SIZE is said once on stderr ({lines})")
    t.check(proc is not None and proc.get("ring_size") == DEFAULT_RING,
            f"... and the default ring is used ({proc and proc.get('ring_size')})")

    # Losses are carried downstream: with the daemon stopped during the run, a 64 KiB ring
    # must drop, and the sled:lost records in the stream add up to the probe's drops.
    _, row, proc, _ = run_burst(d, {"SLED_RING_SIZE": "64K"}, threads=1, stop_daemon=True)
    t.check(row is not None and row["dropped"] > 0 and
            row["emitted"] == row["exported"] + row["dropped"],
            f"a stopped daemon: drops counted, emitted = exported + dropped ({row})")

    def lost_total():
        recs = [e for e in d.events(losses=True) if e.get("provider") == "sled" and e.get("name") == "lost"
                and e.get("args", {}).get("probe") == row["id"]]
        return sum(r.get("args", {}).get("count", 0) for r in recs), recs
    total, recs = wait_until(lambda: lost_total()[0] == row["dropped"] and lost_total(), 10)[0] or \
        lost_total()
    t.check(total == row["dropped"] if row else False,
            f"sled:lost records in the stream add up to the drops ({total} of "
            f"{row and row['dropped']}, {len(recs)} record(s))")
    if recs:
        f = recs[0].get("args", {})
        t.check(f.get("provider") == "burst" and f.get("name") == "cmd" and
                f.get("interval_ns", 0) > 0,
                f"a loss record names provider, name, count and interval ({f})")
finally:
    d.stop()
t.finish()
