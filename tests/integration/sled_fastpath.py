#!/usr/bin/env python3
"""Sled mode's fast path (fast_path.S) and general path record the same events: sites with
0, 1, 2, 3, 6 and 8 register arguments (fast), 5 in callee-saved registers (fast) and 9
(general), every exported event with its exact values, emitted = exported + dropped per
tracepoint (the drops of a slow machine counted), in a process
run with the fast path and one run with SLED_FAST_PATH=0.  (sled_unwind.py stops inside
the fast path, which shows events take it.)  And where the sled jumps: to its stub's fast
part while the site's one probe is plain, past it (the stub's general entry) when it is
patched for an aggregation, back to the fast part when the aggregation leaves a plain
probe alone on the site.

Usage: sled_fastpath.py BUILD_DIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, read_mem, site_addresses  # noqa: E402

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


def entries():
    app = subprocess.Popen([app_path, "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(app.stdout.readline().split()[1])
        addr = site_addresses(probectl, pid, "fp:a2")[0]

        def target():
            b = read_mem(pid, addr + 1, 5)
            return addr + 6 + int.from_bytes(b[1:], "little", signed=True) if b[0] == 0xE9 else None

        def enable(*opts):
            return d.ctl("enable", "fp:a2", "-p", str(pid), *opts).stdout.split()[1].rstrip(":")

        plain = enable()
        fast = target()
        agg = enable("-a", "count() by (s)")
        t.check(fast is not None and target() == fast,
                f"a plain probe's sled jumps to the fast part; an aggregation beside it leaves it there ({fast}, {target()})")
        d.ctl("disable", plain)
        d.ctl("disable", agg)
        t.check(target() is None, "both disabled: the sled is a NOP again")
        agg = enable("-a", "count() by (s)")
        general = target()
        t.check(general is not None and fast < general < fast + 96,
                f"an aggregation's sled jumps past the fast part, into the same stub ({fast:#x} -> {general or 0:#x})")
        plain = enable()
        t.check(target() == general, "a plain probe beside it leaves the sled there")
        d.ctl("disable", agg)
        t.check(target() == fast, f"the aggregation gone, the plain probe's sled jumps to the fast part again ({target() or 0:#x})")
        d.ctl("disable", plain)
    finally:
        app.stdin.close()
        app.wait()


t = Suite()
d = Daemon(probed, probectl)
try:
    run({}, "fast path")
    run({"SLED_FAST_PATH": "0"}, "general path")
    entries()
finally:
    d.stop()
t.finish()
