#!/usr/bin/env python3
"""Probe functions in uprobe mode: --filter, --sample, --rate, --count-only, evaluated in
the BPF program before anything reaches the ring buffer, with sled mode's meaning and
figures.

Usage: uprobe_functions.py BUILD_DIR
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
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()
d = Daemon(probed, probectl)
apps = []

# sample:request carries id, twice = 2 * id, name = "req-<id>", latency = 1.5 * id (double).
# Each filter with the same predicate in Python.  Together they use every operator, every
# field class (unsigned, string, double), field-to-field comparison, string equality,
# inequality and prefix, constants, negation and parentheses.
FILTERS = [
    ('id > 10 && name == "req-1*" || id == 5',
     lambda i: (i > 10 and str(i).startswith("1")) or i == 5),
    ('name == "req-12"', lambda i: i == 12),
    ('name != "req-2*" && id <= 40', lambda i: not str(i).startswith("2") and i <= 40),
    ('!(latency < 300.0) && twice != 700', lambda i: 1.5 * i >= 300.0 and 2 * i != 700),
    ('twice > id && (name == "req-3*" || latency == 15.0)',
     lambda i: str(i).startswith("3") or i == 10),
    ('twice == id', lambda i: False),
    ('false || id >= 295 || (id > 7 && id < 9)', lambda i: i >= 295 or i == 8),
    ('latency <= 4.5 || latency > 447.0', lambda i: i <= 3 or i > 298),
]
N = 300  # ids 1..N


def final(probe_id):
    """disable answers once the uprobes are gone and the ring is drained: final figures."""
    return d.ctl_json("disable", str(probe_id))["final"][0]


def request_events(pid, since, mode=None):
    return [e for e in d.events()[since:]
            if e["name"] == "request" and e["pid"] == pid and (mode is None or e.get("mode", "sled") == mode)]


def consistent(c):
    return (c["hits"] == c["filtered"] + c["sampled_out"] + c["rate_limited"] + c["emitted"]
            and c["emitted"] == c["exported"] + c["dropped"])


def run_fresh(probe_id, before):
    """Run sample_basic over ids 1..N under a probe enabled by binary; return the process,
    its sample:request events and the probe's final figures."""
    app = start_app([basic, str(N), "0"], wait_for_block=False)
    apps.append(app)
    app.wait(timeout=30)
    c = final(probe_id)
    return app, request_events(app.pid, before), c


def rate_windows(evs, limit, gap_ns=250_000_000):
    """The records of each --rate window.  With a producer far above the limit, a window's
    records come in one burst of `limit` right after the window starts (within
    microseconds), so runs of events separated by more than gap_ns are windows.  The one
    exception is the window the probe was enabled in, whose burst starts at the enable:
    if that was close to the next window's start, both bursts form one run, which is
    split at its widest gap (the wait for the new window)."""
    runs = []
    for e in sorted(evs, key=lambda e: e["ts"]):
        if runs and e["ts"] - runs[-1][-1]["ts"] <= gap_ns:
            runs[-1].append(e)
        else:
            runs.append([e])
    if runs and len(runs[0]) > limit:
        r = runs[0]
        k = max(range(1, len(r)), key=lambda j: r[j]["ts"] - r[j - 1]["ts"])
        runs[0:1] = [r[:k], r[k:]]
    return runs


try:
    # --- filter table on a known event stream: enabled by binary before the process
    # starts, the probe sees ids 1..N, so the events must be exactly the accepted ids.
    for expr, pred in FILTERS:
        before = len(d.events())
        pid = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b", basic, "--filter", expr)["id"]
        app, evs, c = run_fresh(pid, before)
        ids = [e["args"]["id"] for e in evs]
        want = [i for i in range(1, N + 1) if pred(i)]
        t.check(ids == want, f"filter {expr!r}: exactly the {len(want)} accepted ids of 1..{N} ({len(ids)} events)")
        t.check(all(e["args"]["twice"] == 2 * e["args"]["id"] and e["args"]["name"] == f"req-{e['args']['id']}"
                    for e in evs), f"filter {expr!r}: values intact")
        t.check(c["hits"] == N and c["filtered"] == N - len(want) and c["emitted"] == len(want)
                and consistent(c) and c["exported"] == len(evs),
                f"filter {expr!r}: hits {c['hits']} = filtered {c['filtered']} + emitted {c['emitted']}, "
                f"exported {c['exported']} + dropped {c['dropped']}")

    # --- the same filter gives the same events in both modes: sled mode and uprobe mode
    # on one process at once, each with the filter.  Between the later first event and the
    # earlier last event both probes were on, so there the two must agree hit for hit.
    for expr, pred in [FILTERS[0], FILTERS[3], FILTERS[4],
                       ('name != "req-1*" && latency > 150.0', lambda i: not str(i).startswith("1") and i > 100)]:
        app = start_app([basic, "100000000", "1"])
        apps.append(app)
        before = len(d.events())
        sl = d.ctl_json("enable", "sample:request", "-p", str(app.pid), "--mode", "sled", "--filter", expr)["id"]
        up = d.ctl_json("enable", "sample:request", "-p", str(app.pid), "--mode", "uprobe", "--filter", expr)["id"]
        time.sleep(1.2)
        cu, cs = final(up), final(sl)
        stop_app(app)
        eu = {e["args"]["id"]: e for e in request_events(app.pid, before, "uprobe")}
        es = {e["args"]["id"]: e for e in request_events(app.pid, before, "sled")}
        lo = max(min(eu, default=0), min(es, default=0))
        hi = min(max(eu, default=0), max(es, default=0))
        iu = [i for i in sorted(eu) if lo <= i <= hi]
        is_ = [i for i in sorted(es) if lo <= i <= hi]
        t.check(len(iu) >= 2 and iu == is_ and all(pred(i) for i in iu),
                f"filter {expr!r}: both modes keep the same {len(iu)} ids in {lo}..{hi}")
        t.check(all(eu[i]["args"] == es[i]["args"] and eu[i]["tid"] == es[i]["tid"] for i in iu),
                f"filter {expr!r}: and the same fields and values")
        t.check(consistent(cu) and consistent(cs) and cu["filtered"] > 0,
                f"filter {expr!r}: figures add up in both modes (uprobe {cu['hits']} hits, "
                f"{cu['filtered']} filtered; sled {cs['hits']} hits, {cs['filtered']} filtered)")

    # --- a filter that does not fit the fields is refused with sled mode's message.
    app = start_app([basic, "100000000", "1"])
    apps.append(app)
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--mode", "uprobe",
              "--filter", "latency > \"x\"", check=False)
    t.check(r.returncode == 1 and "filter: field 'latency' is a floating-point number, cannot compare "
            "it with a string at column 11" in r.stderr, f"type error at enable ({r.stderr.strip()})")
    r = d.ctl("enable", "sample:request", "-b", basic, "--mode", "uprobe", "--filter", "id >", check=False)
    t.check(r.returncode == 1 and "expected a field or a literal at column 5" in r.stderr,
            f"syntax error at enable ({r.stderr.strip()})")
    r = d.ctl("enable", "sample:*", "-p", str(app.pid), "--mode", "uprobe", "--filter", "id > 1", check=False)
    t.check(r.returncode == 1 and "sample:tick: filter: unknown field 'id'" in r.stderr,
            f"a filter that fits only some of the matched tracepoints is refused whole ({r.stderr.strip()})")
    t.check(d.status()["probes"] == [], "a refused enable leaves no probe behind")

    stop_app(app)

    # --- sample: exactly hits N, 2N, ... of the attach.
    before = len(d.events())
    pid = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b", basic, "--sample", "10")["id"]
    app, evs, c = run_fresh(pid, before)
    ids = [e["args"]["id"] for e in evs]
    t.check(ids == list(range(10, N + 1, 10)), f"--sample 10 keeps hits 10, 20, ... {N} ({len(ids)} events)")
    t.check(c["hits"] == N and c["emitted"] == N // 10 and c["sampled_out"] == N - N // 10 and consistent(c),
            f"{c['hits']} hits = {c['sampled_out']} sampled out + {c['emitted']} emitted = "
            f"{c['exported']} exported + {c['dropped']} dropped")

    # --- sampling comes after the filter, as in sled mode: every 3rd accepted hit.
    expr, pred = FILTERS[0]
    before = len(d.events())
    pid = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b", basic, "--filter", expr,
                     "--sample", "3")["id"]
    app, evs, c = run_fresh(pid, before)
    want = [i for i in range(1, N + 1) if pred(i)]
    ids = [e["args"]["id"] for e in evs]
    t.check(ids == want[2::3], f"--filter then --sample 3: every 3rd of the {len(want)} accepted ids ({len(ids)})")
    t.check(c["hits"] == N and c["filtered"] == N - len(want) and c["sampled_out"] == len(want) - len(ids)
            and consistent(c), f"{c['hits']} hits = {c['filtered']} filtered + {c['sampled_out']} sampled out + "
            f"{c['emitted']} emitted")

    # --- count-only: hits are counted, nothing is recorded; with a filter, the hits it
    # accepts are what counts as emitted.
    before = len(d.events())
    pid = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b", basic, "--count-only")["id"]
    app, evs, c = run_fresh(pid, before)
    t.check(c["hits"] == N and c["emitted"] == N and c["exported"] == 0 and c["dropped"] == 0 and not evs,
            f"--count-only counts {c['hits']} hits and exports nothing ({len(evs)} events)")
    pid = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b", basic, "--count-only",
                     "--filter", expr)["id"]
    app, evs, c = run_fresh(pid, before)
    t.check(c["hits"] == N and c["filtered"] == N - len(want) and c["emitted"] == len(want)
            and c["exported"] == 0 and not evs,
            f"--count-only --filter: {c['hits']} hits = {c['filtered']} filtered + {c['emitted']} counted, none exported")

    # --- rate: producers far above the limit are held to N per one-second window, per
    # process: two processes of one binary, one -b probe, each gets its own N.
    a1 = start_app([basic, "1000000000", "0"])
    a2 = start_app([basic, "1000000000", "0"])
    apps += [a1, a2]
    before = len(d.events())
    # Windows are whole seconds of CLOCK_MONOTONIC: enabling early in one keeps the enable
    # burst apart from the next window's (rate_windows copes if it is not).
    while time.monotonic() % 1.0 > 0.2:
        time.sleep(0.01)
    t0 = time.time()
    pid = d.ctl_json("enable", "sample:request", "-b", basic, "--mode", "uprobe", "--rate", "20/s")["id"]
    time.sleep(2.5)
    c = final(pid)
    secs = time.time() - t0
    stop_app(a1)
    stop_app(a2)
    for a in (a1, a2):
        b = rate_windows(request_events(a.pid, before), 20)
        sizes = [len(x) for x in b]
        t.check(sizes and all(n <= 20 for n in sizes) and max(sizes) == 20 and len(b) <= int(secs) + 2,
                f"--rate 20/s, process {a.pid}: {len(b)} windows in {secs:.1f} s, records per window {sizes}")
    t.check(c["rate_limited"] > 1000 and consistent(c),
            f"the excess is counted as rate-limited: {c['hits']} hits = {c['rate_limited']} rate-limited + "
            f"{c['emitted']} emitted = {c['exported']} exported + {c['dropped']} dropped")
finally:
    for a in apps:
        stop_app(a)
    d.stop()
    if t.failed:
        print(d.log_text())
t.finish()
