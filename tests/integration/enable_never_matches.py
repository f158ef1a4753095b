#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A standing probe that can never match is refused, as bpftrace refuses it:

- `enable PATTERN -b PATH` is checked against the binary's notes: a pattern that matches
  none of its tracepoints, or a filter naming a field they lack, is an error;
- an enable with no scope must fit a tracepoint the daemon knows (an attached process's)
  unless `--pending` says it comes later;
- the same for the `enable` lines of probed's config file: exit 2, one `Error:` line
  naming FILE:LINE.

usage: enable_never_matches.py BUILD_DIR
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sledtest import Daemon, Suite, isolate_dev_shm, start_app, stop_app  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress = os.path.join(build, "tests", "integration", "stress_app")

t = Suite()
tmp = tempfile.mkdtemp(prefix="sled-never-matches-")


def refused(r, want, what):
    err = r.stderr.strip()
    t.check(r.returncode != 0 and err.startswith("Error: ") and want in err,
            f"{what}: {err or '(accepted)'}")


def probe_patterns(d):
    return sorted(p["pattern"] + (" " + p["filter"] if p.get("filter") else "")
                  for p in d.status()["probes"])


d = Daemon(probed, probectl)
app = None
try:
    # -b: the binary's notes decide.
    r = d.ctl("enable", "stress:hit", "-b", stress, check=False)
    t.check(r.returncode == 0, f"-b with a pattern the binary has: {r.stderr.strip()}")
    refused(d.ctl("enable", "stress:nope", "-b", stress, check=False),
            "no tracepoint matches 'stress:nope' in", "-b with a pattern the binary lacks")
    refused(d.ctl("enable", "stress:hit", "-b", stress, "--filter", "sqe > 5", check=False),
            "stress:hit", "-b with a filter on a field the tracepoint lacks")
    r = d.ctl("enable", "stress:hit", "-b", stress, "--filter", "seq > 5", check=False)
    t.check(r.returncode == 0, f"-b with a filter on its fields: {r.stderr.strip()}")

    # No scope, nothing attached that has it.
    refused(d.ctl("enable", "web:req", check=False), "--pending",
            "no scope, a tracepoint no process has")
    r = d.ctl("enable", "web:req", "--pending", check=False)
    t.check(r.returncode == 0, f"no scope with --pending: {r.stderr.strip()}")

    # No scope, a process that has it is attached.
    app = start_app([stress, "1", "1000"])
    deadline = time.time() + 10
    while time.time() < deadline and not any(p["pid"] == app.pid
                                             for p in d.status()["processes"]):
        time.sleep(0.05)
    r = d.ctl("enable", "stress:*", check=False)
    t.check(r.returncode == 0, f"no scope, a tracepoint an attached process has: "
            f"{r.stderr.strip()}")
    refused(d.ctl("enable", "stress:hit", "--filter", "latnecy > 5", check=False),
            "latnecy", "no scope, a filter no known tracepoint fits")
    t.check(probe_patterns(d) == ["stress:*", "stress:hit", "stress:hit seq > 5", "web:req"],
            f"only the enables that can match stand: {probe_patterns(d)}")
finally:
    if app:
        stop_app(app)
    d.stop()

# The config file's enable lines.
for text, code, want in (
        ("# web\nenable web:req --filter 'latnecy > 5'\n", 2, ":2: no tracepoint known"),
        (f"enable stress:hit -b {stress} --filter 'latnecy > 5'\n", 2, ":1: stress:hit"),
        (f"enable stress:nope -b {stress}\n", 2, ":1: no tracepoint matches"),
        ("enable web:req --pending --filter 'latency > 5'\n", None, "")):
    path = os.path.join(tmp, "probed.conf")
    with open(path, "w") as f:
        f.write(text)
    sock = os.path.join(tmp, "probed.sock")
    p = subprocess.Popen([probed, "-S", sock, "-c", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        p.terminate()
        out, err = p.communicate(timeout=10)
        rc = None  # still running: it started
    else:
        rc = p.returncode
    lines = err.strip().splitlines()
    if code is None:
        t.check(rc is None, f"config with --pending starts: {err.strip()}")
    else:
        t.check(rc == code and len(lines) == 1 and lines[0].startswith("Error: " + path) and
                want in lines[0], f"config refused with exit {rc}: {err.strip()}")
t.finish()
