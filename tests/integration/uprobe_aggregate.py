#!/usr/bin/env python3
"""Aggregations in uprobe mode (BPF maps) are exact and show what sled mode shows:
probectl show --json equals the ground truth the traced program writes down itself,
across 4 threads in each of 2 processes, one of which exits while the probes stand (an
attach by binary keeps its counts; a -p probe's are folded when its process goes), with
filters applied before the aggregation, string keys cut at 64 bytes, --max-keys overflow
counted, --clear, a probe with no scope (per-process attaches, the exited process's
tables folded), and the same workload aggregated by a sled-mode probe side by side
giving the same show --json and the same human output.

Usage: uprobe_aggregate.py BUILD_DIR
"""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, wait_until  # noqa: E402
from agg_truth import (AggApp, avg, buckets_of, buckets_truth, counts, hist_bucket,  # noqa: E402
                       keyed, lhist_bucket, rows_by_key, stats)

if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    sys.exit(77)
isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "agg_app")

AGGS1 = ["-a", "count() by (key)", "-a", "sum(value) by (key)", "-a", "stats(value) by (key)",
         "-a", "hist(value)"]
AGGS2 = ["--filter", "key < 5", "-a", "count() by (name, key)", "-a", "lhist(value, 0, 1000, 100)",
         "-a", "min(value) by (name)", "-a", "max(value) by (name)"]

t = Suite()
d = Daemon(probed, probectl)
app = AggApp(app_path, tempfile.mkdtemp(prefix="sleduagg."), threads=4, hits=20000)
# Built with the header only: no libsled, so auto mode traces it with uprobes.
plain = AggApp(os.path.join(build, "tests", "integration", "agg_app_plain"),
               tempfile.mkdtemp(prefix="sleduagg."), threads=4, hits=20000)


def attached(pids):
    procs = d.status().get("processes", [])
    return set(pids) <= {p.get("pid") for p in procs}


def enable(mode, *opts, scope=("-b", app_path)):
    r = d.ctl_json("enable", "agg:hit", *scope, "--mode", mode, *opts)
    assert r.get("mode") == mode, r
    return r["id"]


def show(pid):
    return d.ctl_json("show", str(pid))


def canonical(aggs):
    """show --json's aggregations, rows in one order (ties in value may come either way)."""
    return [dict(x, rows=sorted(x["rows"], key=lambda r: json.dumps(r, sort_keys=True)))
            for x in aggs]


try:
    a, b = app.start(), app.start()
    c = plain.start()
    wait_until(lambda: attached([a.pid, b.pid]), 10)
    u1, s1 = enable("uprobe", *AGGS1), enable("sled", *AGGS1)
    u2, s2 = enable("uprobe", *AGGS2), enable("sled", *AGGS2)
    u3 = enable("uprobe", "--max-keys", "3", "-a", "count() by (key)")
    u4 = enable("uprobe", "-a", "avg(value) by (key)")
    u5 = enable("uprobe", "-a", "count() by (key)", "-a", "hist(value)", scope=("-p", str(b.pid)))
    # No scope: per-process attaches (every process with agg:hit, present and future).
    r6 = d.ctl_json("enable", "agg:hit", "--mode", "uprobe", "-a", "count() by (key)",
                    "-a", "stats(value) by (key)", "-a", "hist(value) by (key)")
    u6 = r6["id"]
    t.check(r6.get("mode") == "uprobe" and
            {a.pid, b.pid} <= {x.get("pid") for x in r6.get("processes", [])},
            "uprobe mode with no scope aggregates: both processes attached")
    # Auto with no scope: sled mode for a and b (libsled), uprobes for c; one table.
    r7 = d.ctl_json("enable", "agg:hit", "-a", "count() by (key)", "-a", "hist(value) by (key)")
    u7 = r7["id"]
    t.check(r7.get("mode") == "auto" and
            c.pid in {x.get("pid") for x in r7.get("processes", []) if x.get("mode") == "uprobe"},
            f"auto with no scope aggregates: the process without libsled has uprobes ({r7})")

    hits_a = app.run(a, 1, "a1")
    hits_b = app.run(b, 2, "b1")
    hits = hits_a + hits_b
    hits_c = plain.run(c, 4, "c1")
    plain.exit(c)
    app.exit(b)
    t.check(wait_until(lambda: f"process {b.pid} exited; its" in d.log_text(), 15),
            "the -p probe's process exit is seen and its attach released")
    total = sum(c for *_, c in hits)

    r1 = show(u1)["aggregations"]
    t.check([x["expr"] for x in r1] == ["count() by (key)", "sum(value) by (key)",
                                        "stats(value) by (key)", "hist(value)"],
            "show --json names the uprobe probe's expressions")
    cnt = counts(hits, lambda k, n: (k,))
    t.check({k: r["value"] for k, r in rows_by_key(r1[0], ["key"]).items()} == cnt,
            f"uprobe count() by (key) equals the truth ({total} hits, 8 threads, 2 processes, "
            "one exited)")
    sm = keyed(hits, lambda k, n: (k,), 0, lambda o, v, c: o + v * c)
    t.check({k: r["value"] for k, r in rows_by_key(r1[1], ["key"]).items()} == sm,
            "uprobe sum(value) by (key) equals the truth")
    got = {k: (r["count"], r["sum"], r["min"], r["max"]) for k, r in rows_by_key(r1[2], ["key"]).items()}
    t.check(got == stats(hits, lambda k, n: (k,)), "uprobe stats(value) by (key) equals the truth")
    t.check(len(r1[3]["rows"]) == 1 and r1[3]["rows"][0]["key"] == {} and
            buckets_of(r1[3]["rows"][0]) == buckets_truth(hits, hist_bucket),
            "uprobe hist(value) equals the truth, bucket by bucket")
    t.check(all(x["overflow"] == 0 and x["dropped"] == 0 for x in r1), "nothing overflowed or dropped")

    r2 = show(u2)["aggregations"]
    fh = [x for x in hits if x[0] < 5]
    cn = counts(fh, lambda k, n: (n, k))
    t.check({k: r["value"] for k, r in rows_by_key(r2[0], ["name", "key"]).items()} == cn and
            any(len(k[0]) == 64 for k in cn),
            "uprobe --filter before count() by (name, key): string keys, cut at 64 bytes")
    t.check(buckets_of(r2[1]["rows"][0]) == buckets_truth(fh, lambda v: lhist_bucket(v, 0, 1000, 100)),
            "uprobe lhist(value, 0, 1000, 100) equals the truth")
    mn = keyed(fh, lambda k, n: (n,), None, lambda o, v, c: v if o is None else min(o, v))
    mx = keyed(fh, lambda k, n: (n,), None, lambda o, v, c: v if o is None else max(o, v))
    t.check({k: r["value"] for k, r in rows_by_key(r2[2], ["name"]).items()} == mn and
            {k: r["value"] for k, r in rows_by_key(r2[3], ["name"]).items()} == mx,
            "uprobe min(value) and max(value) by (name) equal the truth")

    # --- the same workload in sled mode: the same output ---
    t.check(canonical(r1) == canonical(show(s1)["aggregations"]),
            "show --json of uprobe mode equals sled mode's (count, sum, stats, hist)")
    t.check(canonical(r2) == canonical(show(s2)["aggregations"]),
            "show --json of uprobe mode equals sled mode's (filter, string keys, lhist, min, max)")
    hu = d.ctl("show", str(u1)).stdout.replace(f"probe {u1}:", "probe N:")
    hs = d.ctl("show", str(s1)).stdout.replace(f"probe {s1}:", "probe N:")
    t.check(hu == hs and "@[3]: " in hu, "probectl show prints the same for both modes")

    # --- a -p probe whose process exited: its tables were folded into the probe ---
    r5 = show(u5)["aggregations"]
    t.check({k: r["value"] for k, r in rows_by_key(r5[0], ["key"]).items()} ==
            counts(hits_b, lambda k, n: (k,)) and
            buckets_of(r5[1]["rows"][0]) == buckets_truth(hits_b, hist_bucket),
            "a -p uprobe probe keeps its exited process's counts and buckets")

    # --- no scope: each process's attaches, the exited one's folded into the probe ---
    def uprobe_rows_of(pid):
        return [p for p in d.status().get("processes", [])
                if p.get("pid") == pid and p.get("mode") == "uprobe"]
    t.check(wait_until(lambda: not uprobe_rows_of(b.pid) and not uprobe_rows_of(c.pid), 15),
            "the no-scope probes let the exited processes' attaches go")
    # Every process with agg:hit, the libsled ones too, in uprobe mode.
    hits_all = hits + hits_c
    r6 = show(u6)["aggregations"]
    # Another process may match a no-scope probe: only the test's own keys are compared.
    own = {(k,) for k, *_ in hits_all}
    cnt_all = counts(hits_all, lambda k, n: (k,))
    t.check({k: r["value"] for k, r in rows_by_key(r6[0], ["key"]).items() if k in own} ==
            cnt_all, f"uprobe no-scope count() by (key) equals the truth "
            f"({sum(cnt_all.values())} hits, 3 processes, two exited)")
    got = {k: (r["count"], r["sum"], r["min"], r["max"])
           for k, r in rows_by_key(r6[1], ["key"]).items() if k in own}
    t.check(got == stats(hits_all, lambda k, n: (k,)),
            "uprobe no-scope stats(value) by (key) equals the truth")

    def hist_exact(agg, truth):
        hk = rows_by_key(agg, ["key"])
        return all(k in hk and buckets_of(hk[k]) ==
                   buckets_truth([x for x in truth if (x[0],) == k], hist_bucket) for k in own)
    t.check(hist_exact(r6[2], hits_all),
            "uprobe no-scope hist(value) by (key) equals the truth, key by key")
    t.check(all(x["overflow"] == 0 and x["dropped"] == 0 for x in r6),
            "uprobe no-scope: nothing overflowed or dropped")
    # Auto: a and b in sled mode, c (exited) in uprobe mode, merged.
    r7 = show(u7)["aggregations"]
    t.check({k: r["value"] for k, r in rows_by_key(r7[0], ["key"]).items() if k in own} ==
            cnt_all and hist_exact(r7[1], hits_all),
            "auto no-scope count() and hist() by (key): sled part and uprobe part merged, exact")
    t.check(canonical(r6[::2]) == canonical(r7),
            "auto no-scope shows what uprobe no-scope shows for the same hits")

    # --- --max-keys ---
    r3 = show(u3)["aggregations"][0]
    t.check(len(r3["rows"]) == 3 and sum(r["value"] for r in r3["rows"]) + r3["overflow"] == total and
            r3["overflow"] > 0, f"uprobe --max-keys 3: 3 keys kept, the rest counted in overflow "
            f"({r3['overflow']})")
    t.check(all(cnt[(tuple(r["key"].values())[0],)] == r["value"] for r in r3["rows"]),
            "uprobe --max-keys: the keys kept are exact")
    st_aggs = {x["id"]: x for x in d.status().get("aggregations", [])}
    t.check(u3 in st_aggs and st_aggs[u3]["aggregations"][0]["keys"] == 3 and
            st_aggs[u3]["aggregations"][0]["overflow"] == r3["overflow"],
            "status lists the uprobe aggregating probe with its keys and overflow")

    # --- --clear ---
    avg1 = keyed(hits, lambda k, n: (k,), (0, 0), lambda o, v, c: (o[0] + v * c, o[1] + c))
    r4 = d.ctl_json("show", str(u4), "--clear")["aggregations"][0]
    t.check({k: r["value"] for k, r in rows_by_key(r4, ["key"]).items()} ==
            {k: avg(s, c) for k, (s, c) in avg1.items()}, "uprobe avg(value) by (key) equals the truth")
    t.check(show(u4)["aggregations"][0]["rows"] == [], "uprobe --clear: nothing left after the reading")
    hits2 = app.run(a, 3, "a2")
    avg2 = keyed(hits2, lambda k, n: (k,), (0, 0), lambda o, v, c: (o[0] + v * c, o[1] + c))
    t.check({k: r["value"] for k, r in rows_by_key(show(u4)["aggregations"][0], ["key"]).items()} ==
            {k: avg(s, c) for k, (s, c) in avg2.items()}, "uprobe --clear: only the hits after it count")
    t.check({k: r["value"] for k, r in rows_by_key(show(u1)["aggregations"][0], ["key"]).items()} ==
            counts(hits + hits2, lambda k, n: (k,)), "another uprobe probe is untouched by --clear")

    # --- errors ---
    r = d.ctl("enable", "agg:hit", "--mode", "uprobe", "-a", "sum(name) by (key)", check=False)
    t.check(r.returncode != 0 and "field 'name' is a string" in r.stderr,
            f"uprobe mode with no scope: a type error refuses the enable ({r.stderr.strip()})")
    r = d.ctl("enable", "agg:hit", "-b", app_path, "--mode", "uprobe", "-a", "sum(name) by (key)",
              check=False)
    t.check(r.returncode != 0 and "field 'name' is a string" in r.stderr and "column 5" in r.stderr,
            f"a type error in uprobe mode names the field and its column ({r.stderr.strip()})")

    ev = [e for e in d.events() if e.get("name") == "hit"]
    t.check(not ev, "aggregating uprobe probes record no events")
    t.check(re.search(r"probe \d+ enabled in uprobe mode", d.log_text()) is not None,
            "the probes ran in uprobe mode")
finally:
    app.kill_all()
    plain.kill_all()
    d.stop()
t.finish()
