#!/usr/bin/env python3
"""Sled mode: a tracepoint in a signal handler that interrupts the same thread inside
another event (signal_nest_app: the main thread in a tight loop on nest:main, a 10 kHz
SIGALRM handler on nest:handler, both enabled).  Nested events are recorded whole or
counted as dropped: the daemon sees no malformed record, every exported event is
self-consistent (b = 3a, m = 7n, each thread's sequence increasing), the app exits 0, and
the accounting closes (emitted == exported + dropped).

Usage: sled_signal_nesting.py BUILD_DIR
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, probe_counts_settled, read_events  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "signal_nest_app")
HANDLER_EVENTS = 2000  # 0.2 s of signals at 10 kHz

t = Suite()
d = Daemon(probed, probectl)
app = subprocess.Popen([app_path, str(HANDLER_EVENTS)], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, text=True)
try:
    pid = int(app.stdout.readline().split()[1])
    r = d.ctl("enable", "nest:*", "-p", str(pid), "--mode", "sled")
    probe_id = int(re.search(r"probe (\d+)", r.stdout).group(1))
    app.stdin.write("go\n")
    app.stdin.flush()
    done = app.stdout.readline().split()
    t.check(done[:1] == ["done"], f"the app ran to the end under 10 kHz nested events ({' '.join(done)})")
    c = probe_counts_settled(d.status, probe_id)
    t.check(c is not None and c["emitted"] == c["exported"] + c["dropped"],
            f"emitted == exported + dropped ({c})")
    procs = [p for p in d.status().get("processes", []) if p.get("pid") == pid]
    t.check(procs and procs[0].get("malformed") == 0,
            f"the daemon read no malformed record ({procs[0].get('malformed') if procs else '?'})")
    app.stdin.write("exit\n")
    app.stdin.flush()
    t.check(app.wait(timeout=30) == 0, f"the app exits 0 ({app.returncode})")

    events, bad = read_events(d.events_path)
    mine = [e for e in events if e.get("pid") == pid]
    t.check(not bad, f"every exported line is JSON ({len(bad)} bad)")
    main = [e["args"] for e in mine if e.get("name") == "main"]
    handler = [e["args"] for e in mine if e.get("name") == "handler"]
    t.check(main and all(a["b"] == 3 * a["a"] for a in main),
            f"every nest:main event has b = 3a ({len(main)} events)")
    t.check(handler and all(a["m"] == 7 * a["n"] for a in handler),
            f"every nest:handler event has m = 7n ({len(handler)} events)")
    t.check(all(x["a"] < y["a"] for x, y in zip(main, main[1:])) and
            all(x["n"] < y["n"] for x, y in zip(handler, handler[1:])),
            "each site's events come in order")
finally:
    if app.poll() is None:
        app.kill()
        app.wait()
    d.stop()
t.finish()
