#!/usr/bin/env python3
"""Aggregations in sled mode are exact: probectl show --json equals the ground truth the
traced program writes down itself, across 4 threads in each of 2 processes, one of which
exits while the probes stand (its tables are folded, not lost), with filters applied
before the aggregation, string keys cut at 64 bytes, --max-keys overflow counted,
--clear, the human output of a histogram, and status's summary.

Usage: sled_aggregate.py BUILD_DIR
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import CtlClient, Daemon, Suite, isolate_dev_shm, wait_until  # noqa: E402
from agg_truth import (AggApp, avg, buckets_of, hist_bucket, keyed, lhist_bucket,  # noqa: E402
                       rows_by_key)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "agg_app")
THREADS, HITS = 4, 20000

t = Suite()
d = Daemon(probed, probectl)
work = tempfile.mkdtemp(prefix="sledagg.")
app = AggApp(app_path, work, THREADS, HITS)
start, run = app.start, app.run


def attached(pids):
    procs = d.status().get("processes", [])
    return set(pids) <= {p.get("pid") for p in procs}


def enable(*opts):
    r = d.ctl_json("enable", "agg:hit", "-b", app_path, *opts)
    return r["id"]


def show(pid):
    return d.ctl_json("show", str(pid))


try:
    # --- two processes, probes standing before they hit anything ---
    a, b = start(), start()
    wait_until(lambda: attached([a.pid, b.pid]), 10)
    p1 = enable("-a", "count() by (key)", "-a", "sum(value) by (key)", "-a", "stats(value) by (key)",
                "-a", "hist(value)")
    p2 = enable("--filter", "key < 5", "-a", "count() by (name, key)",
                "-a", "lhist(value, 0, 1000, 100)", "-a", "min(value) by (name)",
                "--aggregate", "max(value) by (name)")
    p3 = enable("--max-keys", "3", "-a", "count() by (key)")
    p4 = enable("-a", "avg(value) by (key)")

    hits = run(a, 1, "a1") + run(b, 2, "b1")
    app.exit(b)
    # The exited process is let go by the daemon: its tables must stay with the probes.
    t.check(wait_until(lambda: not attached([b.pid]), 15), "the exited process is let go")
    total = sum(c for *_, c in hits)

    s1 = show(p1)
    aggs = s1["aggregations"]
    t.check(s1["id"] == p1 and [x["expr"] for x in aggs] ==
            ["count() by (key)", "sum(value) by (key)", "stats(value) by (key)", "hist(value)"],
            "show --json names the probe and its expressions")
    cnt = keyed(hits, lambda k, n: (k,), 0, lambda o, v, c: o + c)
    t.check({k: r["value"] for k, r in rows_by_key(aggs[0], ["key"]).items()} == cnt,
            f"count() by (key) equals the truth ({total} hits, 8 threads, 2 processes)")
    sm = keyed(hits, lambda k, n: (k,), 0, lambda o, v, c: o + v * c)
    t.check({k: r["value"] for k, r in rows_by_key(aggs[1], ["key"]).items()} == sm,
            "sum(value) by (key) equals the truth")
    st = keyed(hits, lambda k, n: (k,), None,
               lambda o, v, c: (c, v * c, v, v) if o is None else
               (o[0] + c, o[1] + v * c, min(o[2], v), max(o[3], v)))
    got = {k: (r["count"], r["sum"], r["min"], r["max"]) for k, r in rows_by_key(aggs[2], ["key"]).items()}
    t.check(got == st, "stats(value) by (key) equals the truth")
    h = {}
    for _, v, _, c in hits:
        h[hist_bucket(v)] = h.get(hist_bucket(v), 0) + c
    t.check(len(aggs[3]["rows"]) == 1 and aggs[3]["rows"][0]["key"] == {} and
            buckets_of(aggs[3]["rows"][0]) == h, "hist(value) equals the truth, bucket by bucket")
    t.check(all(x["overflow"] == 0 and x["dropped"] == 0 for x in aggs), "nothing overflowed or dropped")
    t.check(aggs[0]["rows"] == sorted(aggs[0]["rows"], key=lambda r: r["value"]), "rows sorted by value")

    s2 = show(p2)["aggregations"]
    fh = [x for x in hits if x[0] < 5]
    cn = keyed(fh, lambda k, n: (n, k), 0, lambda o, v, c: o + c)
    t.check({k: r["value"] for k, r in rows_by_key(s2[0], ["name", "key"]).items()} == cn,
            "--filter before count() by (name, key): string keys, cut at 64 bytes")
    t.check(any(len(k[0]) == 64 for k in cn), "a key longer than 64 bytes is cut to 64")
    lh = {}
    for _, v, _, c in fh:
        lh[lhist_bucket(v, 0, 1000, 100)] = lh.get(lhist_bucket(v, 0, 1000, 100), 0) + c
    t.check(buckets_of(s2[1]["rows"][0]) == lh, "lhist(value, 0, 1000, 100) equals the truth")
    mn = keyed(fh, lambda k, n: (n,), None, lambda o, v, c: v if o is None else min(o, v))
    mx = keyed(fh, lambda k, n: (n,), None, lambda o, v, c: v if o is None else max(o, v))
    t.check({k: r["value"] for k, r in rows_by_key(s2[2], ["name"]).items()} == mn and
            {k: r["value"] for k, r in rows_by_key(s2[3], ["name"]).items()} == mx,
            "min(value) and max(value) by (name) equal the truth")

    s3 = show(p3)["aggregations"][0]
    t.check(len(s3["rows"]) == 3 and sum(r["value"] for r in s3["rows"]) + s3["overflow"] == total and
            s3["overflow"] > 0, f"--max-keys 3: 3 keys kept, the rest counted in overflow "
            f"({s3['overflow']})")
    t.check(all(cnt[(tuple(r["key"].values())[0],)] == r["value"] for r in s3["rows"]),
            "--max-keys: the keys kept are exact")

    st_aggs = {x["id"]: x for x in d.status().get("aggregations", [])}
    t.check(p3 in st_aggs and st_aggs[p3]["aggregations"][0]["keys"] == 3 and
            st_aggs[p3]["aggregations"][0]["overflow"] == s3["overflow"] and p1 in st_aggs,
            "status lists the aggregating probes with their keys and overflow")

    hs = d.ctl("status").stdout
    t.check(re.search(rf"^{p3}\s+count\(\) by \(key\)\s+3\s+{s3['overflow']}\s+0$", hs, re.M) is not None,
            "probectl status prints each aggregation's keys and overflow")

    human = d.ctl("show", str(p1)).stdout
    bars = [ln for ln in human.splitlines() if re.match(r"^[\[(][^|]*\s\d+ \|@* *\|$", ln)]
    t.check(f"probe {p1}: hist(value)" in human and "@[3]: " in human and
            any(ln.startswith("(..., 0)") for ln in bars) and any(ln.startswith("[0]") for ln in bars)
            and any(ln.startswith("[1K, 2K)") for ln in bars) and len(bars) >= 10,
            "show prints the histogram as bpftrace does (ranges, counts, @ bars)")

    # --- --clear: after reading, the next reading starts from nothing ---
    avg1 = keyed(hits, lambda k, n: (k,), (0, 0), lambda o, v, c: (o[0] + v * c, o[1] + c))
    r4 = d.ctl_json("show", str(p4), "--clear")["aggregations"][0]
    t.check({k: r["value"] for k, r in rows_by_key(r4, ["key"]).items()} ==
            {k: avg(s, c) for k, (s, c) in avg1.items()}, "avg(value) by (key) equals the truth")
    t.check(show(p4)["aggregations"][0]["rows"] == [], "--clear: nothing left after the reading")
    hits2 = run(a, 3, "a2")
    avg2 = keyed(hits2, lambda k, n: (k,), (0, 0), lambda o, v, c: (o[0] + v * c, o[1] + c))
    r4 = show(p4)["aggregations"][0]
    t.check({k: r["value"] for k, r in rows_by_key(r4, ["key"]).items()} ==
            {k: avg(s, c) for k, (s, c) in avg2.items()}, "--clear: only the hits after it count")
    c1 = show(p1)["aggregations"][0]
    both = keyed(hits + hits2, lambda k, n: (k,), 0, lambda o, v, c: o + c)
    t.check({k: r["value"] for k, r in rows_by_key(c1, ["key"]).items()} == both,
            "another probe's tables are untouched by --clear")

    # --- one probe alone on the site: the dispatcher's short aggregation path ---
    for pid_ in (p1, p2, p3, p4):
        d.ctl("disable", str(pid_))
    p5 = enable("-a", "count() by (key)", "-a", "hist(value)", "-a", "count() by (name)")
    hits3 = run(a, 4, "a3")
    s5 = show(p5)["aggregations"]
    c3 = keyed(hits3, lambda k, n: (k,), 0, lambda o, v, c: o + c)
    h3 = {}
    for _, v, _, c in hits3:
        h3[hist_bucket(v)] = h3.get(hist_bucket(v), 0) + c
    t.check({k: r["value"] for k, r in rows_by_key(s5[0], ["key"]).items()} == c3 and
            buckets_of(s5[1]["rows"][0]) == h3,
            "a probe alone on the site (short path): count() by (key) and hist(value) exact")
    n3 = keyed(hits3, lambda k, n: (n,), 0, lambda o, v, c: o + c)
    t.check({k: r["value"] for k, r in rows_by_key(s5[2], ["name"]).items()} == n3,
            "a probe alone on the site: count() by (name), string keys copied in place, exact")

    # --- errors at enable, with the column ---
    r = d.ctl("enable", "agg:hit", "-b", app_path, "-a", "sum(name) by (key)", check=False)
    t.check(r.returncode != 0 and "field 'name' is a string" in r.stderr and "column 5" in r.stderr,
            f"a type error names the field and its column ({r.stderr.strip()})")
    r = d.ctl("enable", "agg:hit", "-b", app_path, "-a", "cnt()", check=False)
    t.check(r.returncode != 0 and "unknown function 'cnt'" in r.stderr and "column 1" in r.stderr,
            "an unknown function is refused with its column")
    r = d.ctl("enable", "agg:hit", "-b", app_path, "-a", "count() by (nope)", check=False)
    t.check(r.returncode != 0 and "unknown field 'nope'" in r.stderr and "column 13" in r.stderr,
            "an unknown key field is refused with its column")
    r = d.ctl("enable", "agg:hit", "-a", "sum(name)", check=False)
    t.check(r.returncode != 0 and "field 'name' is a string" in r.stderr and "column 5" in r.stderr,
            f"a type error with no scope (auto: both parts) is refused ({r.stderr.strip()})")

    # --- show's fields, as the control socket accepts them ---
    client = CtlClient(d.socket)
    try:
        rep = client.request(cmd="show", id=p5, bogus=1)
        t.check(not rep.get("ok") and "bogus" in rep.get("error", ""),
                f"show refuses a field it does not take ({rep.get('error')})")
        rep = client.request(cmd="show", id=p5, clear=False)
        t.check(rep.get("ok") is True and rep.get("id") == p5,
                f"show takes id and clear over the socket ({str(rep)[:200]})")
    finally:
        client.close()

    ev = [e for e in d.events() if e.get("name") == "hit"]
    t.check(not ev, "aggregating probes record no events")
finally:
    app.kill_all()
    d.stop()
t.finish()
