#!/usr/bin/env python3
"""The two guards in both of probed's modes, on samples/sample_guards:
TRACEPOINT_ENABLED(guards, plain) and TRACEPOINT_ENABLED_SEM(guards, sem), each around a
tracepoint of its own.

- uprobe mode (libbpf's USDT attach, which has the kernel count the stapsdt semaphore):
  the semaphore guard is true on every iteration, the NOP guard never.
- sled mode: both guards are patched to true, both tracepoints record events.

Usage: sled_guards.py BUILD_DIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, start_app, stop_app, wait_until  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
guards = os.path.join(build, "samples", "sample_guards")

t = Suite()
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()
d = Daemon(probed, probectl)
app = None


def events(pid, name):
    return [e for e in d.events() if e["pid"] == pid and e["name"] == name]


try:
    # --- uprobe mode by binary, then a process of it runs to its end.
    n = 20
    r = d.ctl_json("enable", "guards:*", "--mode", "uprobe", "-b", guards)
    probe = r["id"]
    run = subprocess.run([guards, str(n), "0"], capture_output=True, text=True, timeout=30)
    t.check(run.stdout.strip() == f"plain 0 sem {n}",
            f"uprobe mode: the semaphore guard was true {n} times, the NOP guard never ({run.stdout.strip()})")
    final = d.ctl_json("disable", str(probe))["final"][0]
    # subprocess.run keeps no pid: this daemon traces no other process of the binary.
    sem = [e for e in d.events() if e["name"] == "sem"]
    plain = [e for e in d.events() if e["name"] == "plain"]
    t.check(sorted(e["args"]["i"] for e in sem) == list(range(1, n + 1)),
            f"uprobe mode: guards:sem events carry 1..{n} ({len(sem)} events)")
    t.check(not plain, f"uprobe mode: no guards:plain event ({len(plain)})")
    t.check(final["emitted"] == final["exported"] + final["dropped"],
            f"uprobe mode: emitted = exported + dropped ({final})")

    # --- sled mode on a running process: both guards are patched.
    app = start_app([guards, "0", "2"])
    d.ctl("enable", "guards:*", "-p", str(app.pid), "--mode", "sled")
    got, _ = wait_until(lambda: events(app.pid, "plain") and events(app.pid, "sem"), 10)
    t.check(bool(got), "sled mode: both guards are true and both tracepoints record events "
            f"(plain {len(events(app.pid, 'plain'))}, sem {len(events(app.pid, 'sem'))})")
    d.ctl("disable", "guards:*", "-p", str(app.pid))
finally:
    if app:
        stop_app(app)
    d.stop()
t.finish()
