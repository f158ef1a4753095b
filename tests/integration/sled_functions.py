#!/usr/bin/env python3
"""Probe functions in sled mode: --filter, --sample, --rate, --count-only, evaluated in the
traced process before anything is recorded.

Usage: sled_functions.py BUILD_DIR
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, start_app, stop_app  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
basic = os.path.join(build, "samples", "sample_basic")

t = Suite()
d = Daemon(probed, probectl)
apps = []


def run_probe(app, *opts, seconds=1.5):
    """Enable sample:request with opts on app, let it run, freeze the app, drain, and
    return (the probe's status figures, its events)."""
    before = len(d.events())
    pid = d.ctl_json("enable", "sample:request", "-p", str(app.pid), *opts)["id"]
    time.sleep(seconds)
    # disable answers once the site is off, idle and drained, with the final figures
    c = d.ctl_json("disable", str(pid))["final"][0]
    evs = [e for e in d.events()[before:] if e["name"] == "request" and e["pid"] == app.pid]
    return c, evs


try:
    app = start_app([basic, "100000000", "1"])
    apps.append(app)

    # --- filter: exactly the events the predicate accepts, nothing else, no gap.
    c, evs = run_probe(app, "--filter", 'id > 10 && name == "req-1*" || id == 5')
    ids = [e["args"]["id"] for e in evs]
    pred = lambda i: (i > 10 and str(i).startswith("1")) or i == 5  # noqa: E731
    t.check(bool(ids) and all(pred(i) for i in ids), f"every event satisfies the filter ({len(ids)} events)")
    expect = [i for i in range(min(ids or [0]), max(ids or [0]) + 1) if pred(i)]
    t.check(ids == expect, "between the first and the last, every accepted id is there, in order")
    t.check(c["hits"] == c["filtered"] + c["emitted"] and c["emitted"] == c["exported"] + c["dropped"],
            f"hits = filtered + emitted, emitted = exported + dropped ({c})")
    t.check(c["filtered"] > 0, "the filter rejected hits in the process")

    # --- a filter that does not fit the fields is refused with its column.
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--filter", "latency > \"x\"", check=False)
    t.check(r.returncode == 1 and "filter: field 'latency' is a floating-point number, cannot compare "
            "it with a string at column 11" in r.stderr, f"type error at enable ({r.stderr.strip()})")
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--filter", "id >", check=False)
    t.check(r.returncode == 1 and "expected a field or a literal at column 5" in r.stderr,
            f"syntax error at enable ({r.stderr.strip()})")
    t.check(d.status()["probes"] == [], "a refused enable leaves no probe behind")

    # --- a site takes four probes; a fifth is refused, naming the four (sled_multi.py
    # checks what the four get).
    four = [d.ctl_json("enable", "sample:request", "-p", str(app.pid), *o)["id"]
            for o in ([], ["--sample", "2"], ["--sample", "3"], ["--count-only"])]
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--sample", "5", check=False)
    t.check(r.returncode == 1 and "sample:request already has 4 probes (%s)" % ", ".join(map(str, four)) in r.stderr,
            f"an enable whose every site is full is refused ({r.stderr.strip()})")
    t.check([p["id"] for p in d.status()["probes"]] == four, "the refused probe is not kept")
    r = d.ctl("enable", "sample:*", "-p", str(app.pid), "--sample", "2", check=False)
    t.check(r.returncode == 0 and "Warning:" in r.stderr and "sample:request already has 4 probes" in r.stderr,
            f"a partly overlapping enable takes the sites with room and says which it skipped ({r.stderr.strip()})")
    for p in d.status()["probes"]:
        d.ctl("disable", str(p["id"]))

    # --- sample: one hit in N per thread.
    c, evs = run_probe(app, "--sample", "10")
    ids = [e["args"]["id"] for e in evs]
    t.check(len(ids) > 5 and all(b - a == 10 for a, b in zip(ids, ids[1:])),
            f"--sample 10 keeps every 10th hit ({ids[:5]}...)")
    t.check(c["emitted"] == c["hits"] // 10 or c["emitted"] == c["hits"] // 10 + 1,
            f"emitted = hits / 10 ({c['hits']} hits, {c['emitted']} emitted, {c['sampled_out']} sampled out)")
    t.check(c["emitted"] == c["exported"] + c["dropped"], "sampled: emitted = exported + dropped")

    # --- count-only: hits are counted, nothing is recorded.
    c, evs = run_probe(app, "--count-only", seconds=0.5)
    t.check(c["hits"] > 0 and c["exported"] == 0 and not evs,
            f"--count-only counts {c['hits']} hits and exports nothing")
    stop_app(app)

    # --- rate: a producer far above the limit is held to N per second.
    app = start_app([basic, "1000000000", "0"])
    apps.append(app)
    t0 = time.time()
    c, evs = run_probe(app, "--rate", "50/s", seconds=2.5)
    secs = time.time() - t0
    t.check(0 < c["exported"] <= 50 * (int(secs) + 2), f"--rate 50/s: {c['exported']} events in {secs:.1f} s")
    t.check(c["rate_limited"] > 1000, f"the excess is counted as rate-limited ({c['rate_limited']})")
    t.check(c["hits"] == c["rate_limited"] + c["emitted"] and c["emitted"] == c["exported"] + c["dropped"],
            f"hits = rate_limited + emitted = rate_limited + exported + dropped ({c})")
    by_sec = {}
    for e in evs:
        by_sec.setdefault(e["ts"] // 1_000_000_000, 0)
        by_sec[e["ts"] // 1_000_000_000] += 1
    t.check(all(n <= 100 for n in by_sec.values()), f"no wall-clock second holds more than two windows' worth ({by_sec})")
    stop_app(app)

    # --- bad options never reach the daemon.
    r = d.ctl("enable", "sample:request", "--sample", "0", check=False)
    t.check(r.returncode == 2 and "bad --sample" in r.stderr, f"--sample 0 is refused ({r.stderr.strip()})")
    r = d.ctl("enable", "sample:request", "--rate", "5/min", check=False)
    t.check(r.returncode == 2 and "bad --rate" in r.stderr, f"--rate 5/min is refused ({r.stderr.strip()})")
finally:
    for a in apps:
        stop_app(a)
    d.stop()
    if t.failed:
        print(d.log_text())
t.finish()
