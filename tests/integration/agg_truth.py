"""Ground truth of agg_app's hits for the aggregation tests (sled_aggregate.py,
uprobe_aggregate.py): the app, the expected rows and buckets, and what show --json gives."""
import os
import subprocess

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class AggApp:
    """agg_app processes; run() returns [(key, value, name cut at 64, count), ...]."""

    def __init__(self, app_path, work, threads, hits):
        self.app_path, self.work, self.threads, self.hits = app_path, work, threads, hits
        self.procs = []

    def start(self):
        p = subprocess.Popen([self.app_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        assert p.stdout.readline().strip() == "ready"
        self.procs.append(p)
        return p

    def run(self, p, seed, name):
        out = os.path.join(self.work, name)
        p.stdin.write(f"run {self.threads} {self.hits} {seed} {out}\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "done"
        hits = []
        with open(out) as f:
            for line in f:
                k, v, n, c = line.split()
                hits.append((int(k), int(v), n[:64], int(c)))
        return hits

    @staticmethod
    def exit(p):
        p.stdin.write("exit\n")
        p.stdin.flush()
        p.wait(timeout=30)

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)


def avg(s, c):
    q = abs(s) // c
    return q if s >= 0 else -q


def hist_bucket(v):
    if v < 0:
        return (INT64_MIN, 0)
    if v == 0:
        return (0, 1)
    k = v.bit_length() - 1
    return (1 << k, 1 << (k + 1))


def lhist_bucket(v, lo, hi, step):
    if v < lo:
        return (INT64_MIN, lo)
    if v >= hi:
        return (hi, INT64_MAX)
    b = (v - lo) // step
    return (lo + b * step, min(lo + (b + 1) * step, hi))


def keyed(hits, keyf, init, add):
    out = {}
    for k, v, n, c in hits:
        key = keyf(k, n)
        out[key] = add(out.get(key, init), v, c)
    return out


def buckets_truth(hits, bucket):
    out = {}
    for _, v, _, c in hits:
        out[bucket(v)] = out.get(bucket(v), 0) + c
    return out


def rows_by_key(agg, fields):
    return {tuple(r["key"][f] for f in fields): r for r in agg["rows"]}


def buckets_of(row):
    return {(b["low"], b["high"]): b["count"] for b in row["buckets"] if b["count"]}


def counts(hits, keyf):
    return keyed(hits, keyf, 0, lambda o, v, c: o + c)


def stats(hits, keyf):
    return keyed(hits, keyf, None,
                 lambda o, v, c: (c, v * c, v, v) if o is None else
                 (o[0] + c, o[1] + v * c, min(o[2], v), max(o[3], v)))
