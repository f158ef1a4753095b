#!/usr/bin/env python3
"""Aggregations per hit: sled mode (computed in the traced thread's own table), uprobe
mode (probed's BPF program updating a per-CPU map under a uprobe trap) and bpftrace (a
BPF map updated under a uprobe trap) doing the same aggregation on the same site,
interleaved over rounds, pinned (loop on CPU 0, consumer on CPU 1).

    bench/run_agg_bench.py [BUILD_DIR] [--quick]

Needs root (probed attaches, BPF, bpftrace); uprobe and bpftrace rows are n/a without it.
With valgrind, also prints the dispatcher's instructions per hit (bench/agg_insns.sh): a
figure the machine's load does not move.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

build = next((a for a in sys.argv[1:] if not a.startswith("--")), "build")
quick = "--quick" in sys.argv
bench = os.path.abspath(os.path.join(build, "bench", "bench_agg"))
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
ROUNDS = 3 if quick else 7
PIN_APP = ["taskset", "-c", "0"] if shutil.which("taskset") and os.cpu_count() >= 2 else []
PIN_CONSUMER = ["taskset", "-c", "1"] if PIN_APP else []


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def run(mode, iters, reps, attach):
    p = subprocess.Popen(PIN_APP + [bench, mode, str(iters), str(reps)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline().split()[1])
    undo = attach(pid)
    p.stdin.write("go\n")
    p.stdin.flush()
    out = float(p.stdout.readline())
    p.wait()
    if undo:
        undo()
    return out


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sledaggbench.")
        self.sock = os.path.join(self.dir, "s")
        self.p = subprocess.Popen(PIN_CONSUMER + [probed, "-S", self.sock, "-o", "msgpack:/dev/null"],
                                  stderr=subprocess.DEVNULL)
        while not os.path.exists(self.sock):
            time.sleep(0.01)

    def ctl(self, *args, check=True):
        return subprocess.run([probectl, "-S", self.sock, *args], check=check, capture_output=True,
                              text=True).stdout

    def aggregate(self, pattern, expr, mode="sled"):
        def attach(pid):
            out = self.ctl("--json", "enable", pattern, "-p", str(pid), "--mode", mode, "-a", expr)
            pid_ = str(json.loads(out)["id"])
            # A -p probe may already be gone with its process.
            return lambda: self.ctl("disable", pid_, check=False)
        return attach

    def stop(self):
        self.p.terminate()
        self.p.wait()


def bpftrace(probe, action):
    def attach(pid):
        bt = subprocess.Popen(PIN_CONSUMER + ["bpftrace", "-p", str(pid), "-e", f"{probe} {{ {action} }}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while True:
            line = bt.stdout.readline()
            if not line or "Attaching" in line:
                break
        drain = subprocess.Popen(["cat"], stdin=bt.stdout, stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        return lambda: (bt.terminate(), bt.wait(), drain.wait())
    return attach


def main():
    d = Daemon()
    root = os.geteuid() == 0
    have_bt = root and shutil.which("bpftrace")
    rows = [
        ("count() by (key), integer key", "int", "bagg:req", "count() by (key)",
         bpftrace(f"usdt:{bench}:bagg:req", "@[arg0] = count();")),
        ("hist(len)", "int", "bagg:req", "hist(len)",
         bpftrace(f"usdt:{bench}:bagg:req", "@ = hist(arg1);")),
        ("count() by (path), string key", "str", "bagg:path", "count() by (path)",
         bpftrace(f"usdt:{bench}:bagg:path", "@[str(arg0)] = count();")),
    ]
    res = {}
    try:
        for _ in range(ROUNDS):
            for name, mode, pattern, expr, bt in rows:
                res.setdefault((name, "sled"), []).append(
                    run(mode, 20_000_000, 5, d.aggregate(pattern, expr)))
                if root:
                    res.setdefault((name, "uprobe"), []).append(
                        run(mode, 500_000, 3, d.aggregate(pattern, expr, "uprobe")))
                if have_bt:
                    res.setdefault((name, "bt"), []).append(run(mode, 500_000, 3, bt))
        show = None
        p = subprocess.Popen([bench, "int", "2000000", "1"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        pid = int(p.stdout.readline().split()[1])
        out = d.ctl("--json", "enable", "bagg:req", "-p", str(pid), "-a", "hist(len)")
        pid_ = str(json.loads(out)["id"])
        p.stdin.write("go\n")
        p.stdin.flush()
        p.stdout.readline()
        show = d.ctl("show", pid_)
        p.wait()
        d.ctl("disable", pid_, check=False)
    finally:
        d.stop()
    print(f"{'aggregation (per hit, one thread)':<36} {'sled ns':>9} {'uprobe ns':>10} "
          f"{'bpftrace ns':>12} {'bt/sled':>8} {'uprobe/bt':>10}")
    for name, *_ in rows:
        s = median(res[(name, "sled")])
        u = median(res[(name, "uprobe")]) if (name, "uprobe") in res else None
        b = median(res[(name, "bt")]) if (name, "bt") in res else None
        print(f"{name:<36} {s:>9.2f} {'n/a' if u is None else f'{u:10.1f}':>10} "
              f"{'n/a' if b is None else f'{b:12.1f}':>12} "
              f"{'n/a' if b is None else f'{b / s:7.0f}x':>8} "
              f"{'n/a' if b is None or u is None else f'{u / b:9.2f}x':>10}")
    print(f"\nmedians of {ROUNDS} interleaved rounds; loop on CPU 0, consumer on CPU 1")
    if shutil.which("valgrind") and os.path.exists(os.path.join(build, "bench", "bench_agg_insns")):
        print("\ninstructions per hit (callgrind, bench/agg_insns.sh):\n")
        print(subprocess.run([os.path.join(os.path.dirname(os.path.abspath(__file__)), "agg_insns.sh"),
                              build], capture_output=True, text=True).stdout)
    print("\nprobectl show of hist(len) after 2.2M hits:\n")
    print(show)


if __name__ == "__main__":
    main()
