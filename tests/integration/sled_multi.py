#!/usr/bin/env python3
"""Several probes on one tracepoint in sled mode: each with its own options (filter,
sample, count-only) at once, each with exactly its own events and figures, each disabled
by its own id while the others keep running, and the site back to its NOP only after the
last one.

The app (sample_basic) emits sample:request with ids 1, 2, 3... from one thread.  A probe
added to a site that is already patched needs no agent, so it is enabled while the app is
stopped (SIGSTOP): its first hit is then exactly the id after the last one drained, and
its hits give the end of its window.  Its events are known from the predicate.

Usage: sled_multi.py BUILD_DIR
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (SITE_OFF, Daemon, Suite, is_jmp_site, isolate_dev_shm,  # noqa: E402
                      read_mem, site_addresses, start_app, stop_app, wait_until)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
basic = os.path.join(build, "samples", "sample_basic")

t = Suite()
d = Daemon(probed, probectl)
apps = []


def pred_b(i):
    return str(i).startswith("2")  # --filter 'name == "req-2*"'


def request_ids(app):
    return [e["args"]["id"] for e in d.events() if e["name"] == "request" and e["pid"] == app.pid]


def enable(app, pattern, *opts):
    return d.ctl_json("enable", pattern, "-p", str(app.pid), *opts)["id"]


def figures(ids):
    """Every probe's figures once nothing moves any more (the app is stopped)."""
    last = None
    for _ in range(100):
        now = {p["id"]: p for p in d.status()["probes"] if p["id"] in ids}
        if now == last:
            return now
        last = now
        time.sleep(0.1)
    return last


def stop_settled(app, ids):
    """SIGSTOP the app at a moment it is not inside an event (every probe balances), and
    return the figures."""
    for _ in range(50):
        os.kill(app.pid, signal.SIGSTOP)
        f = figures(ids)
        if all(c["count_only"] or c["emitted"] == c["exported"] + c["dropped"] for c in f.values()):
            return f
        os.kill(app.pid, signal.SIGCONT)
        time.sleep(0.01)
    return f


def exact(c):
    return c["hits"] == c["filtered"] + c["sampled_out"] + c["rate_limited"] + c["emitted"] and \
        c["emitted"] == c["exported"] + c["dropped"]


try:
    app = start_app([basic, "100000000", "1"])
    apps.append(app)
    site = site_addresses(probectl, app.pid, "sample:request")[0]

    # --- A: plain, the reference: every event of its window.
    a = enable(app, "sample:request")
    time.sleep(0.5)

    # --- B (filter) and C (sample 7) join while the app is stopped: they start together.
    stop_settled(app, [a])
    start = max(request_ids(app))
    b = enable(app, "sample:request", "--filter", 'name == "req-2*"')
    c = enable(app, "sample:request", "--sample", "7")
    t.check(len({a, b, c}) == 3, f"three enables of one tracepoint coexist, each with its id ({a}, {b}, {c})")
    os.kill(app.pid, signal.SIGCONT)
    time.sleep(1.0)

    # --- D (count-only) joins; a fifth is refused, naming the four.
    f = stop_settled(app, [a, b, c])
    start_d = start + f[b]["hits"]
    dd = enable(app, "sample:request", "--count-only")
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--sample", "2", check=False)
    t.check(r.returncode == 1 and f"sample:request already has 4 probes ({a}, {b}, {c}, {dd})" in r.stderr,
            f"a fifth probe on the site is refused ({r.stderr.strip()})")
    t.check(sorted(p["id"] for p in d.status()["probes"]) == sorted([a, b, c, dd]), "the refused probe is not kept")
    os.kill(app.pid, signal.SIGCONT)
    time.sleep(1.0)

    # --- A leaves by its id; B, C, D keep running.
    fa = d.ctl_json("disable", str(a))["final"][0]
    ids = request_ids(app)
    first = ids[0]
    t.check(ids[:fa["hits"]] == list(range(first, first + fa["hits"])),
            f"A (plain) got every event of its window, in order ({fa['hits']} hits)")
    t.check(exact(fa) and fa["exported"] == fa["hits"] and fa["dropped"] == 0,
            f"A: hits = emitted = exported ({fa})")
    t.check(is_jmp_site(read_mem(app.pid, site, 6)), "the site stays patched while other probes are on")
    end_a = first + fa["hits"]  # first id after A's window
    time.sleep(1.0)

    # --- Stop and check B, C, D against the predicates, and the stream against B | C.
    f = stop_settled(app, [b, c, dd])
    now = start_d + f[dd]["hits"]  # the last id so far
    window = range(start + 1, now + 1)
    exp_b = [i for i in window if pred_b(i)]
    exp_c = [i for i in window if (i - start) % 7 == 0]
    t.check(f[b]["hits"] == len(window) and f[b]["emitted"] == len(exp_b) and
            f[b]["filtered"] == len(window) - len(exp_b) and exact(f[b]) and f[b]["dropped"] == 0,
            f"B (filter) took exactly the {len(exp_b)} ids its predicate accepts of {len(window)} ({f[b]})")
    t.check(f[c]["hits"] == len(window) and f[c]["emitted"] == len(exp_c) and
            f[c]["sampled_out"] == len(window) - len(exp_c) and exact(f[c]) and f[c]["dropped"] == 0,
            f"C (sample 7) took exactly every 7th hit since it started ({f[c]})")
    t.check(f[dd]["hits"] == now - start_d and f[dd]["exported"] == 0,
            f"D (count-only) counts its hits and exports nothing ({f[dd]})")
    after_a = [i for i in request_ids(app) if i >= end_a]
    union = sorted(set(i for i in exp_b + exp_c if i >= end_a))
    t.check(after_a == union and len(union) > 0,
            f"without A, the stream is exactly B's and C's events, each once ({len(union)} events)")
    both = [i for i in union if pred_b(i) and (i - start) % 7 == 0]
    t.check(len(request_ids(app)) == len(set(request_ids(app))),
            f"an event two probes take is exported once ({len(both)} such since A left)")
    os.kill(app.pid, signal.SIGCONT)
    time.sleep(0.5)

    # --- B leaves by its id, with exact final figures; C and D keep running.
    fb = d.ctl_json("disable", str(b))["final"][0]
    window = range(start + 1, start + 1 + fb["hits"])
    t.check(fb["emitted"] == len([i for i in window if pred_b(i)]) and exact(fb) and
            fb["hits"] > f[b]["hits"], f"B's final figures are exact ({fb})")
    t.check(is_jmp_site(read_mem(app.pid, site, 6)), "the site stays patched for C and D")
    # The app runs, so its figures never settle: a snapshot, then a wait until both grow.
    g = {p["id"]: p for p in d.status()["probes"]}

    def both_grew():
        now = {p["id"]: p for p in d.status()["probes"]}
        return all(now[k]["hits"] > g[k]["hits"] for k in (c, dd))
    grew, _ = wait_until(both_grew, timeout=30, interval=0.05)
    t.check(grew, "C and D keep counting after B left")

    # --- disable PATTERN removes every probe enabled as that pattern and scope.
    r = d.ctl_json("disable", "sample:request", "-p", str(app.pid))
    t.check(sorted(r["disabled"]) == sorted([c, dd]), f"disable PATTERN removes both remaining probes ({r['disabled']})")
    fc = next(x for x in r["final"] if x["id"] == c)
    fd = next(x for x in r["final"] if x["id"] == dd)
    t.check(exact(fc) and fc["emitted"] == fc["hits"] // 7, f"C's final figures are exact ({fc})")
    t.check(fd["exported"] == 0 and fd["hits"] == fc["hits"] - (start_d - start),
            f"D counted every hit since it joined ({fd['hits']})")
    t.check(read_mem(app.pid, site, 6) == SITE_OFF, "after the last probe the site is a NOP again")
    t.check(d.status()["probes"] == [], "no probe is left")

    # --- The plain path and the shared path on one site, back and forth: sample:tick.
    tick = site_addresses(probectl, app.pid, "sample:tick")[0]
    before = len([e for e in d.events() if e["name"] == "tick"])
    t1 = enable(app, "sample:tick")
    time.sleep(0.3)
    t2 = enable(app, "sample:tick", "--count-only")
    t3 = enable(app, "sample:tick")
    time.sleep(0.3)
    f3 = d.ctl_json("disable", str(t3))["final"][0]
    f2 = d.ctl_json("disable", str(t2))["final"][0]
    t.check(is_jmp_site(read_mem(app.pid, tick, 6)), "tick stays patched for its last probe")
    time.sleep(0.3)
    f1 = d.ctl_json("disable", str(t1))["final"][0]
    ticks = len([e for e in d.events() if e["name"] == "tick"]) - before
    t.check(exact(f1) and exact(f3) and f1["exported"] == ticks and f3["exported"] <= ticks and
            f2["hits"] < f1["hits"] and f3["hits"] < f1["hits"] and f2["exported"] == 0,
            f"two plain probes and a count-only one on an argument-less site: one event each time "
            f"({ticks} events; {f1['hits']}, {f2['hits']}, {f3['hits']} hits)")
    t.check(read_mem(app.pid, tick, 6) == SITE_OFF, "tick is a NOP again")
finally:
    for x in apps:
        try:
            os.kill(x.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        stop_app(x)
    d.stop()
    if t.failed:
        print(d.log_text())
t.finish()
