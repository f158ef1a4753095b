#!/usr/bin/env python3
"""Aggregations on probed --metrics, read back through a real Prometheus server (Debian's
prometheus) and its query API, equal the ground truth the traced program writes down:
count() by (name) with string keys cut at 64 bytes, sum(value) by (key), stats(value) by
(key) (one sample per stat), avg(value) by (key), and hist(value) and
lhist(value, 0, 1000, 100) by (name) as Prometheus histograms (cumulative buckets, bucket
by bucket, with lhist's below-MIN and from-MAX buckets), over 4 threads in each of 2
processes, one of which exits while the probes stand; --max-keys overflow as its own
gauge; an expression given twice is served once; the text passes promtool; each family
has one TYPE.

Usage: metrics_aggregate.py BUILD_DIR
"""
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, wait_until  # noqa: E402
from promtest import (Prometheus, metrics_address, parse_exposition,  # noqa: E402
                      promtool_check)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "agg_app")
THREADS, HITS = 4, 20000
INF = float("inf")

t = Suite()
d = Daemon(probed, probectl, extra=("--metrics", "127.0.0.1:0"))
work = tempfile.mkdtemp(prefix="sledaggm.")
apps, prom = [], None


def start():
    p = subprocess.Popen([app_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    apps.append(p)
    return p


def run(p, seed, name):
    """The program's own record of its hits: [(key, value, name cut at 64, count)]."""
    out = os.path.join(work, name)
    p.stdin.write(f"run {THREADS} {HITS} {seed} {out}\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "done"
    with open(out) as f:
        return [(int(k), int(v), n[:64], int(c)) for k, v, n, c in map(str.split, f)]


def attached(pids):
    return set(pids) <= {p.get("pid") for p in d.status().get("processes", [])}


def keyed(hits, keyf, valf):
    """{key: [(value, count), ...]} of the hits."""
    out = {}
    for k, v, n, c in hits:
        out.setdefault(keyf(k, n), []).append((v, c))
    return out


def series(result, label):
    """A query's result as {that label's value: float}."""
    return {x["metric"].get(label): float(x["value"][1]) for x in result}


def le_of(x):
    return float(x["metric"]["le"])


def cumulative(vcs, bounds):
    """{le: hits with value <= le} for the bounds, +Inf included."""
    return {b: float(sum(c for v, c in vcs if v <= b)) for b in bounds}


def hist_bounds(values):
    """hist's bounds as served: le=-1 (a signed field), 0, 2^k - 1 up to the largest
    value's bucket, +Inf."""
    top = max(values)
    bounds = [-1.0, 0.0]
    k = 1
    while (1 << (k - 1)) <= top:
        bounds.append(float((1 << k) - 1))
        k += 1
    return bounds + [INF]


try:
    a, b = start(), start()
    t.check(wait_until(lambda: attached([a.pid, b.pid]), 10), "both processes attached")
    addr = metrics_address(d)
    p1 = d.ctl_json("enable", "agg:hit", "-b", app_path, "-a", "count() by (name)",
                    "-a", "sum(value) by (key)", "-a", "hist(value)",
                    "-a", "stats(value) by (key)")["id"]
    p2 = d.ctl_json("enable", "agg:hit", "-b", app_path,
                    "-a", "lhist(value, 0, 1000, 100) by (name)",
                    "-a", "avg(value) by (key)", "-a", "avg(value) by (key)")["id"]
    p3 = d.ctl_json("enable", "agg:hit", "-b", app_path, "--max-keys", "3",
                    "-a", "count() by (key)")["id"]

    hits = run(a, 11, "a") + run(b, 12, "b")
    b.stdin.write("exit\n")
    b.stdin.flush()
    b.wait(timeout=30)
    t.check(wait_until(lambda: not attached([b.pid]), 15), "the exited process is let go")
    total = sum(c for *_, c in hits)
    by_name = keyed(hits, lambda k, n: n, None)
    by_key = keyed(hits, lambda k, n: str(k), None)
    every = [(v, c) for _, v, _, c in hits]

    # --- the text itself: valid, one TYPE per family, the histogram a family of its own.
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=5) as r:
        body = r.read().decode()
    _, types = parse_exposition(body)
    t.check(types.get("sled_aggregate") == "gauge" and
            types.get("sled_aggregate_hist") == "histogram" and
            types.get("sled_aggregate_overflow") == "gauge",
            "families: sled_aggregate gauge, sled_aggregate_hist histogram, "
            f"sled_aggregate_overflow gauge "
            f"({ {k: v for k, v in types.items() if 'aggregate' in k} })")
    type_lines = [ln.split()[2] for ln in body.splitlines() if ln.startswith("# TYPE ")]
    t.check(len(type_lines) == len(set(type_lines)), "one TYPE line per family")
    ok, said = promtool_check(body)
    if ok is not None:
        t.check(ok, f"promtool check metrics: no error, no lint ({said})")
    repeated = [ln for ln in body.splitlines()
                if ln.startswith(f'sled_aggregate{{probe="{p2}",expr="avg(value) by (key)",')]
    t.check(len(repeated) == len(set(k for k, *_ in hits)),
            f"an expression given twice in one probe is served once ({len(repeated)} series)")

    # --- Prometheus scrapes it; every figure read back through its query API.
    prom = Prometheus(addr)
    health, _ = prom.wait_for('sled_aggregate_hist_count')
    t.check(health == "up", f"Prometheus's target is up ({health})")
    q = prom.query

    got = series(q(f'sled_aggregate{{probe="{p1}",expr="count() by (name)"}}'), "name")
    want = {n: float(sum(c for _, c in vc)) for n, vc in by_name.items()}
    t.check(got == want and any(len(n) == 64 for n in got),
            f"count() by (name): the label name, values equal the truth, a key cut at 64 "
            f"bytes ({total} hits, 8 threads, 2 processes)")
    got = series(q(f'sled_aggregate{{probe="{p1}",expr="sum(value) by (key)"}}'), "key")
    t.check(got == {k: float(sum(v * c for v, c in vc)) for k, vc in by_key.items()},
            "sum(value) by (key) equals the truth")
    res = q(f'sled_aggregate{{probe="{p1}",expr="stats(value) by (key)"}}')
    got = {(x["metric"]["key"], x["metric"]["stat"]): float(x["value"][1]) for x in res}
    want = {}
    for k, vc in by_key.items():
        cnt, sm = sum(c for _, c in vc), sum(v * c for v, c in vc)
        want.update({(k, "count"): float(cnt), (k, "sum"): float(sm),
                     (k, "min"): float(min(v for v, _ in vc)),
                     (k, "max"): float(max(v for v, _ in vc)), (k, "avg"): sm / cnt})
    t.check(got == want, "stats(value) by (key): count, sum, min, max, avg by the stat label")
    got = series(q(f'sled_aggregate{{probe="{p2}",expr="avg(value) by (key)"}}'), "key")
    t.check(got == {k: sum(v * c for v, c in vc) / sum(c for _, c in vc)
                    for k, vc in by_key.items()}, "avg(value) by (key) is sum/count")

    # hist(value): every bound as served, each bucket's count (cumulative, and the
    # difference between neighbours: no histogram_quantile), _sum and _count.
    res = q(f'sled_aggregate_hist_bucket{{probe="{p1}",expr="hist(value)"}}')
    got = {le_of(x): float(x["value"][1]) for x in res}
    bounds = hist_bounds([v for v, _ in every])
    t.check(sorted(got) == bounds, f"hist(value): the bounds run from le=-1 to the largest "
            f"value's bucket, then +Inf ({len(got)} buckets)")
    t.check(got == cumulative(every, bounds),
            "hist(value): every cumulative bucket equals the truth")
    per = [got.get(bounds[0], 0)] + [got.get(hi, 0) - got.get(lo, 0)
                                     for lo, hi in zip(bounds, bounds[1:])]
    truth = [sum(c for v, c in every if v < 0), sum(c for v, c in every if v == 0)] + \
            [sum(c for v, c in every if lo < v <= hi) for lo, hi in zip(bounds[1:], bounds[2:])]
    t.check(per == [float(x) for x in truth] and per[0] > 0 and per[1] > 0,
            "hist(value): bucket by bucket (negatives, zero, [1,2), [2,4), ...) equals the truth")
    s = series(q(f'sled_aggregate_hist_sum{{probe="{p1}",expr="hist(value)"}}'), "probe")
    c = series(q(f'sled_aggregate_hist_count{{probe="{p1}",expr="hist(value)"}}'), "probe")
    t.check(s == {str(p1): float(sum(v * c for v, c in every))} and
            c == {str(p1): float(total)}, "hist(value): _sum and _count equal the truth")

    # lhist(value, 0, 1000, 100) by (name): below MIN is le=-1, the steps le=99..999, MAX
    # and above only in +Inf.
    res = q(f'sled_aggregate_hist_bucket{{probe="{p2}",'
            'expr="lhist(value, 0, 1000, 100) by (name)"}')
    bounds = [-1.0] + [float(x) for x in range(99, 1000, 100)] + [INF]
    ok = len(res) == len(bounds) * len(by_name)
    for n, vc in by_name.items():
        got = {le_of(x): float(x["value"][1]) for x in res if x["metric"]["name"] == n}
        ok = ok and got == cumulative(vc, bounds)
    t.check(ok, "lhist(value, 0, 1000, 100) by (name): every key's cumulative buckets equal "
            "the truth")
    names = sorted(by_name)
    below = sum(c for v, c in by_name[names[0]] if v < 0)
    above = sum(c for v, c in by_name[names[0]] if v >= 1000)
    got = {le_of(x): float(x["value"][1]) for x in res if x["metric"]["name"] == names[0]}
    t.check(below > 0 and above > 0 and got.get(-1.0) == below and
            got.get(INF, 0) - got.get(999.0, 0) == above,
            f"lhist: below MIN counted at le=-1 ({below}), MAX and above only in +Inf ({above})")

    # --- --max-keys: three keys kept, the rest in the overflow gauge.
    got = series(q(f'sled_aggregate{{probe="{p3}"}}'), "key")
    ov = q(f'sled_aggregate_overflow{{probe="{p3}"}}')
    keys = q(f'sled_aggregate_keys{{probe="{p3}"}}')
    want = {k: float(sum(c for _, c in vc)) for k, vc in by_key.items()}
    t.check(len(got) == 3 and all(want[k] == v for k, v in got.items()) and len(ov) == 1 and
            float(ov[0]["value"][1]) + sum(got.values()) == total and len(keys) == 1 and
            float(keys[0]["value"][1]) == 3,
            f"--max-keys 3: 3 exact keys, the rest in sled_aggregate_overflow "
            f"({ov and ov[0]['value'][1]})")
    zero = q(f'sled_aggregate_overflow{{probe="{p1}"}}')
    t.check(len(zero) == 4 and all(float(x["value"][1]) == 0 for x in zero),
            "one overflow gauge per aggregation, 0 where nothing overflowed")
finally:
    if prom:
        prom.stop()
    for p in apps:
        if p.poll() is None:
            p.stdin.write("exit\n")
            p.stdin.flush()
            p.wait(timeout=30)
    d.stop()
t.finish()
