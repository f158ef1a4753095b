#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""SIGHUP reloads probed's config file (-c):

- a second output and a changed enable line take effect: events flow to both outputs, the
  old line's probe is disabled and the new one enabled;
- a bad new config keeps the old one, and status says why (reload_failures, reload_error);
- a logrotate-style rename + SIGHUP reopens the file output and no event is lost: the
  outputs hold exactly as many events as the app counted.

usage: config_reload.py BUILD_DIR
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sledtest import Daemon, Suite, isolate_dev_shm, wait_until  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress = os.path.join(build, "tests", "integration", "stress_app")
t = Suite()
tmp = tempfile.mkdtemp(prefix="sled-reload-")
conf = os.path.join(tmp, "probed.conf")
out_a, out_b = os.path.join(tmp, "a.jsonl"), os.path.join(tmp, "b.jsonl")


def write_conf(text):
    with open(conf + ".new", "w") as f:
        f.write(text)
    os.rename(conf + ".new", conf)


def hits(*paths):
    n = 0
    for p in paths:
        try:
            with open(p) as f:
                n += sum(1 for line in f if '"name":"hit"' in line.replace(" ", ""))
        except FileNotFoundError:
            pass
    return n


def seqs(*paths):
    out = []
    for p in paths:
        with open(p) as f:
            out += [json.loads(line)["args"]["seq"] for line in f
                    if '"name":"hit"' in line.replace(" ", "")]
    return out


def reload_and_wait(d, n):
    d.proc.send_signal(signal.SIGHUP)
    st, _ = wait_until(lambda: (lambda s: s if s["daemon"]["reloads"] >= n else None)(d.status()),
                       10, 0.05)
    return st


write_conf(f"output jsonl:{out_a}\nenable stress:hit -b {stress}\n")
d = Daemon(probed, probectl, extra=["-c", conf])
app = None
try:
    first = d.status()["probes"]
    t.check(len(first) == 1 and first[0]["sample"] in (0, 1), f"the config's probe: {first}")

    # A second output, a changed enable line.
    write_conf(f"output jsonl:{out_a}\noutput jsonl:{out_b}\n"
               f"enable stress:hit -b {stress} --sample 1\n")
    st = reload_and_wait(d, 1)
    probes = st["probes"] if st else []
    specs = [o["spec"] for o in st["outputs"]] if st else []
    t.check(len(probes) == 1 and probes[0]["id"] != first[0]["id"] and probes[0]["sample"] == 1,
            f"the changed line's probe replaced the old one: {probes}")
    t.check(len(specs) == 3 and f"jsonl:{out_b}" in specs, f"outputs after reload: {specs}")
    probe_id = probes[0]["id"] if probes else 0

    app = subprocess.Popen([stress, "1", "300"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    wait_until(lambda: hits(out_a) > 500, 20)

    # A bad config: the old one stays, status says why.
    write_conf(f"output jsonl:{out_a}\nenable stress:nope -b {stress}\n")
    st = reload_and_wait(d, 2)
    dm = st["daemon"] if st else {}
    t.check(dm.get("reload_failures") == 1 and ":2: no tracepoint matches" in dm.get("reload_error", ""),
            f"a bad config is refused and status says why: {dm.get('reload_error')!r}")
    t.check([p["id"] for p in st["probes"]] == [probe_id] and len(st["outputs"]) == 3,
            "the old config stays (same probe, same outputs)")
    t.check("reload" in d.ctl("status").stdout, "probectl status shows the reload line")

    # logrotate: rename, then SIGHUP (the failed reload above still reopens files).
    os.rename(out_a, out_a + ".1")
    d.proc.send_signal(signal.SIGHUP)
    got, _ = wait_until(lambda: os.path.exists(out_a) and hits(out_a) > 100, 20)
    t.check(bool(got), "the renamed output file is reopened at its path")

    app.terminate()
    _, err = app.communicate(timeout=30)
    app = None
    m = re.search(r"(\d+) iterations", err)
    n = int(m.group(1)) if m else -1
    c = d.wait_drained(probe_id, timeout=30)
    exported = c["exported"] if c else -1
    dropped = c["dropped"] if c else -1
    # The app counts every iteration, the probe only those after it was applied: every
    # event from the first one recorded to the app's last must be there, once, in order.
    wait_until(lambda: hits(out_a, out_a + ".1") >= exported and hits(out_b) >= exported, 10)
    sa, sb = seqs(out_a + ".1", out_a), seqs(out_b)
    first_seq = sa[0] if sa else -1
    t.check(c is not None and dropped == 0 and c["hits"] == n - first_seq == exported,
            f"the probe counted the app's events from the first recorded: app {n}, first "
            f"seq {first_seq}, hits {c and c['hits']}, exported {exported}, dropped {dropped}")
    t.check(sa == list(range(first_seq, n)) and sb == sa,
            f"no event lost across reload and rotation: a.jsonl(+.1) {len(sa)}, b.jsonl "
            f"{len(sb)}, seq {first_seq}..{n - 1}")
finally:
    if app:
        app.kill()
        app.wait()
    d.stop()
t.finish()
