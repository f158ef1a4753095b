#!/usr/bin/env python3
"""Sled mode: a tracepoint in a signal handler that interrupts the same thread inside
another event (signal_nest_app: the main thread in a tight loop on nest:main, a 10 kHz
SIGALRM handler on nest:handler, both enabled).  Nested events are recorded whole or
counted as dropped: the daemon sees no malformed record, every exported event is
self-consistent (b = 3a, m = 7n, each thread's sequence increasing), the app exits 0, and
the accounting closes (emitted == exported + dropped).

Usage: sled_signal_nesting.py BUILD_DIR
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, probe_counts_settled  # noqa: E402

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

    # Millions of lines, nearly all nest:main: those in the encoder's exact form (a strict
    # subset of JSON) are read with a regular expression, any other line with json.
    num = rb"(0|[1-9][0-9]*)"
    main_re = re.compile(rb'\{"provider":"nest","name":"main","ts":%s,"pid":%d,"tid":%s,'
                         rb'"args":\{"a":%s,"b":%s\}\}\n' % (num, pid, num, num, num))
    main, handler, bad = [], [], 0
    with open(d.events_path, "rb") as f:
        for line in f:
            m = main_re.fullmatch(line)
            if m:
                main.append({"a": int(m.group(3)), "b": int(m.group(4))})
                continue
            if not line.endswith(b"\n"):
                continue  # the last line, still being written (as read_events does)
            try:
                e = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if not isinstance(e, dict):
                bad += 1
            elif e.get("pid") == pid and e.get("name") == "main":
                main.append(e["args"])
            elif e.get("pid") == pid and e.get("name") == "handler":
                handler.append(e["args"])
    t.check(not bad, f"every exported line is JSON ({bad} bad)")
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
