#!/usr/bin/env python3
"""Sled mode's fast path (fast_path.S) and general path record the same events: sites with
0, 1, 2, 3, 6 and 8 register arguments (fast), 5 in callee-saved registers (fast) and 9
(general), every exported event with its exact values, emitted = exported + dropped per
tracepoint (the drops of a slow machine counted), in a process
run with the fast path and one run with SLED_FAST_PATH=0.  (sled_unwind.py stops inside
the fast path, which shows events take it.)

Usage: sled_fastpath.py BUILD_DIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "fastpath_app")
N = 6000
SITES = {"a0": 0, "a1": 1, "a2": 2, "a3": 3, "a6": 6, "a8": 8, "a9": 9, "c5": 5}
M = (1 << 64) - 1


def expected(s, n):
    vals = [s, s * 3 + 1, s ^ 0x5555, (s << 3) & M, s + 7, s * 11, (s - 1) & M, ~s & M, s * s]
    return vals[:n]


def run(env, label):
    app = subprocess.Popen([app_path, str(N)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True, env=dict(os.environ, **env))
    try:
        pid = int(app.stdout.readline().split()[1])
        r = d.ctl("enable", "fp:*", "-p", str(pid), "--mode", "sled")
        pid_probe = int(r.stdout.split()[1].rstrip(":"))
        app.stdin.write("go\n")
        app.stdin.flush()
        t.check(app.stdout.readline().strip() == "done", f"{label}: the app ran its {N} rounds")
        c = d.wait_drained(pid_probe, timeout=30)
        figs = {k: c[k] for k in ("emitted", "exported", "dropped")} if c else None
        t.check(c is not None and c["emitted"] == len(SITES) * N and c["emitted"] == c["exported"] + c["dropped"],
                f"{label}: emitted = {len(SITES) * N} = exported + dropped ({figs})")
        per_tp = {tp["tracepoint"].split(":", 1)[1]: tp for tp in (c or {}).get("tracepoints", [])}
        d.ctl("disable", str(pid_probe))
    finally:
        app.stdin.close()
        app.wait()
    evs = [e for e in d.events() if e.get("pid") == pid and e["provider"] == "fp"]
    for name, n in SITES.items():
        got = [tuple(e["args"].values()) for e in evs if e["name"] == name]
        # A full ring (a slow machine, a sanitizer build) may drop some: every event that
        # was exported is exact, and the drops are counted.
        bad = [v for v in got if n and list(v) != expected(v[0], n)]
        seqs = {v[0] for v in got} if n else set()
        tp = per_tp.get(name, {})
        ok = (got and not bad and (n == 0 or len(seqs) == len(got)) and
              tp.get("exported") == len(got) and tp.get("exported", 0) + tp.get("dropped", 0) == N)
        t.check(ok, f"{label}: fp:{name}: {len(got)} events, all with exact values, exported + dropped = {N} "
                    f"({len(bad)} bad{', first ' + str(bad[0]) if bad else ''}; status {tp})")
    return pid


t = Suite()
d = Daemon(probed, probectl)
try:
    run({}, "fast path")
    run({"SLED_FAST_PATH": "0"}, "general path")
finally:
    d.stop()
t.finish()
