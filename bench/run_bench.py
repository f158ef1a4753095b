#!/usr/bin/env python3
"""sled benchmarks, side by side with the peers, in one run.

    bench/run_bench.py [BUILD_DIR] [--quick] [--rounds N] [--uprobe-iters N] [--no-uprobe]

Rows: a tight loop with no tracepoint, with a disabled TRACEPOINT, with a sys/sdt.h probe
(not attached); the same with ~27 ns of real work per iteration; sled mode enabled (one
event with 2 integer arguments into the ring, through the fast path and, beside it, the
general path alone (SLED_FAST_PATH=0), and the drop path when the ring is full; one with
an integer and a 12-byte string: a literal, a stack buffer, a heap string);
uprobe mode through probed, and bpftrace (count() and printf of the arguments) on the
same site, interleaved and pinned (loop on CPU 0, consumer on CPU 1); "vs bpftrace" is
against bpftrace count() on the same site.  LTTng-UST rows (bench_lttng: the same loop
with an LTTng-UST tracepoint of the same two integers): disabled (no session), and enabled
in bursts with lttng-sessiond started and stopped here (pinned to CPU 1 with its
consumerd), one session with the event enabled writing to tmpfs; "vs LTTng" is against
that enabled event.  Times are medians of repeated runs; instruction counts come from
callgrind (this VM has no hardware counters).  Needs root for bpftrace and the LTTng
session daemon; rows it cannot run are marked n/a, with a line saying why.
--rounds sets the interleaved rounds (default 3, 1 with --quick), --uprobe-iters the
iterations of the trap-bound rows (default 1,000,000: ~25 s a run), --no-uprobe skips the
uprobe-mode rows (keeps bpftrace count()).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lttng_session import LttngSession, lttng_unavailable  # noqa: E402


def opt(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


build = next((a for i, a in enumerate(sys.argv[1:], 1)
              if not a.startswith("--") and sys.argv[i - 1] not in ("--rounds", "--uprobe-iters")),
             "build")
quick = "--quick" in sys.argv
bench = os.path.join(build, "bench", "bench_tp")
bench_lttng = os.path.join(build, "bench", "bench_lttng")
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
ROUNDS = opt("--rounds", 1 if quick else 3)
PEER_ROUNDS = opt("--rounds", 3 if quick else 7)
UPROBE_ITERS = opt("--uprobe-iters", 1_000_000)
NO_UPROBE = "--no-uprobe" in sys.argv


# Rows with a consumer (probed, bpftrace) pin the traced loop to CPU 0 and the consumer to
# CPU 1, so that both sides of a comparison get a core each (unpinned, the scheduler's
# choices dominate the difference on 2 vCPUs).
PIN_APP = ["taskset", "-c", "0"] if shutil.which("taskset") and os.cpu_count() >= 2 else []
PIN_CONSUMER = ["taskset", "-c", "1"] if PIN_APP else []


def binary(mode):
    """"lttng-disabled" is bench_lttng's "disabled", the others bench_tp's modes."""
    return (bench_lttng, mode[6:]) if mode.startswith("lttng-") else (bench, mode)


def run_mode(mode, iters, reps, before_go=None, pin=False, env=None):
    """Start bench_tp (or bench_lttng), let before_go(pid) attach something, then time it."""
    p = subprocess.Popen((PIN_APP if pin else []) + [*binary(mode), str(iters), str(reps)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, **env) if env else None)
    line = p.stdout.readline().split()
    pid = int(line[1])
    cleanup = before_go(pid) if before_go else None
    p.stdin.write("go\n")
    p.stdin.flush()
    out = p.stdout.readline().strip()
    p.wait()
    if cleanup:
        cleanup()
    return float(out)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def interleaved(modes, iters, reps):
    """Alternate the variants over several rounds so machine noise hits them alike."""
    res = {m: [] for m in modes}
    for _ in range(ROUNDS):
        for m in modes:
            res[m].append(run_mode(m, iters, reps))
    return {m: median(v) for m, v in res.items()}


def callgrind_ir(mode, iters):
    if not shutil.which("valgrind"):
        return None
    out = tempfile.mktemp(prefix="cg.")
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        *binary(mode), str(iters), "1"], input="go\n", capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if os.path.exists(out):
        os.unlink(out)
    return int(m.group(1)) if m else None


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sledbench.")
        self.sock = os.path.join(self.dir, "s")
        self.p = subprocess.Popen(PIN_CONSUMER + [probed, "-S", self.sock, "-o", "msgpack:/dev/null"],
                                  stderr=subprocess.DEVNULL)
        while not os.path.exists(self.sock):
            time.sleep(0.01)

    def enable(self, pid, pattern, *opts):
        """Enable on pid; returns what disables it again (uprobe attaches outlive the
        process until disabled, and stale ones would slow later rounds' traps)."""
        r = subprocess.run([probectl, "-S", self.sock, "enable", pattern, "-p", str(pid), *opts],
                           check=True, capture_output=True, text=True)
        m = re.search(r"probe (\d+):", r.stdout)
        if not m:
            return None
        return lambda: subprocess.run([probectl, "-S", self.sock, "disable", m.group(1)],
                                      capture_output=True)

    def stop(self):
        self.p.terminate()
        self.p.wait()


def enable_latency(d, n=21):
    """probectl enable -p round trip (process start, socket, agent patching the site, reply)
    on a process looping over the site: the next hit after it returns is recorded."""
    p = subprocess.Popen([bench, "disabled", "4000000000", "1"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline().split()[1])
    p.stdin.write("go\n")
    p.stdin.flush()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        d.enable(pid, "bench:hot")
        times.append((time.perf_counter() - t0) * 1000)
        subprocess.run([probectl, "-S", d.sock, "disable", "bench:hot", "-p", str(pid)],
                       check=True, capture_output=True)
    p.kill()
    p.wait()
    return median(times)


def bpftrace_attach(probe, action="@n = count();"):
    def attach(pid):
        bt = subprocess.Popen(PIN_CONSUMER + ["bpftrace", "-p", str(pid), "-e", probe + " { " + action + " }"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while True:
            line = bt.stdout.readline()
            if not line or "Attaching" in line:
                break
        # printf output is read (and thrown away) so that bpftrace keeps consuming.
        drain = subprocess.Popen(["cat"], stdin=bt.stdout, stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        return lambda: (bt.terminate(), bt.wait(), drain.wait())
    return attach


def peers(d, rounds):
    """Uprobe mode and bpftrace on the same site, interleaved over rounds, pinned."""
    site = f"usdt:{bench}:bench:hot"
    variants = {} if NO_UPROBE else {
        "uprobe": lambda pid: d.enable(pid, "bench:hot", "--mode", "uprobe"),
        "uprobe_filtered": lambda pid: d.enable(pid, "bench:hot", "--mode", "uprobe",
                                                "--filter", "acc == 0"),
    }
    variants |= {
        "bt_count": bpftrace_attach(site),
        "bt_printf": bpftrace_attach(site, 'printf("%d %d\\n", arg0, arg1);'),
        "bt_sdt": bpftrace_attach(f"usdt:{bench}:bench:sdt"),
    }
    # printf costs ~10 us a hit (perf buffer output and a wakeup each): fewer iterations.
    iters = {"bt_printf": max(UPROBE_ITERS // 10, 1000)}
    res = {k: [] for k in variants}
    for _ in range(rounds):
        for k, attach in variants.items():
            mode = "sdt" if k == "bt_sdt" else "disabled"
            res[k].append(run_mode(mode, iters.get(k, UPROBE_ITERS), 5, attach, pin=True))
    return {k: median(v) for k, v in res.items()}


def per_event_ir(mode, ref, iters):
    """callgrind instructions per loop iteration that mode adds to ref (warm-up + one run:
    1.1 x iters iterations each)."""
    a, b = callgrind_ir(mode, iters), callgrind_ir(ref, iters)
    return (a - b) / (1.1 * iters) if a and b else None


def sled_enabled_ir(d, iters=200_000, env=None):
    """callgrind instructions per recorded sled-mode event, bench_tp under valgrind with the
    probe enabled by probed (the agent patches the site, so valgrind must re-translate
    modified code: --smc-check=all).  None, with the reason printed, if it cannot run."""
    if not shutil.which("valgrind"):
        return None
    out = tempfile.mktemp(prefix="cg.")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--smc-check=all",
                          f"--callgrind-out-file={out}", bench, "disabled", str(iters), "1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, **env) if env else None)
    try:
        pid = int(p.stdout.readline().split()[1])
        disable = d.enable(pid, "bench:hot")
        p.stdin.write("go\n")
        p.stdin.flush()
        p.stdout.readline()
        _, err = p.communicate(timeout=600)
        st = subprocess.run([probectl, "-S", d.sock, "--json", "status"], capture_output=True,
                            text=True).stdout
        if disable:
            disable()
    except (subprocess.SubprocessError, ValueError, IndexError) as e:
        p.kill()
        p.wait()
        print(f"callgrind of the enabled sled event: not measured ({e})")
        return None
    finally:
        if os.path.exists(out):
            os.unlink(out)
    m = re.search(r"Collected : (\d+)", err)
    base = callgrind_ir("disabled", iters)
    # Every iteration must have been recorded: a dropped event takes the shorter path.
    probe = sorted((p for p in json.loads(st)["probes"] if p["pattern"] == "bench:hot"),
                   key=lambda p: p["id"])[-1:]
    if not probe or probe[0]["exported"] < iters + iters // 10:
        print(f"callgrind of the enabled sled event: not every event was recorded ({probe})")
        return None
    return (int(m.group(1)) - base) / (1.1 * iters) if m and base else None


def main():
    lttng_why = lttng_unavailable(bench_lttng)
    lt = [] if lttng_why else ["lttng-none", "lttng-disabled"]
    tight = interleaved(["none", "disabled", "sdt"] + lt, 100_000_000 if quick else 200_000_000,
                        5 if quick else 11)
    work = interleaved(["work-none", "work-disabled"], 5_000_000 if quick else 20_000_000, 5 if quick else 11)
    extra_ir = per_event_ir("disabled", "none", 10_000_000)
    lttng_dis_ir = None if lttng_why else per_event_ir("lttng-disabled", "lttng-none", 10_000_000)

    d = Daemon()
    try:
        enable_ms = enable_latency(d)
        # sled and LTTng-UST enabled, the same bursts of 8,000 events (each fits one ring or
        # one LTTng channel buffer), interleaved round by round; the loop on CPU 0, probed
        # and lttng-sessiond (with its consumerd) on CPU 1.
        bursts, general_bursts, lttng_bursts, lttng_en_ir, lttng_discarded = [], [], [], None, None
        sess = None
        if not lttng_why:
            try:
                sess = LttngSession(["bench_lttng:hot"], pin=PIN_CONSUMER).__enter__()
            except (RuntimeError, subprocess.CalledProcessError) as e:
                lttng_why = f"the LTTng session could not be set up ({e})"
        try:
            for _ in range(2 * ROUNDS + 1):
                bursts.append(run_mode("burst", 8000, 31, lambda pid: d.enable(pid, "bench:hot"),
                                       pin=True))
                general_bursts.append(run_mode("burst", 8000, 31, lambda pid: d.enable(pid, "bench:hot"),
                                               pin=True, env={"SLED_FAST_PATH": "0"}))
                if sess:
                    lttng_bursts.append(run_mode("lttng-burst", 8000, 31, pin=True))
            if sess:
                # In the session the "disabled" loop records every iteration.
                lttng_en_ir = per_event_ir("lttng-disabled", "lttng-none", 1_000_000)
        finally:
            if sess:
                sess.__exit__()
                lttng_discarded = sess.discarded
        burst = median(bursts)
        general_burst = median(general_bursts)
        lttng_burst = median(lttng_bursts) if lttng_bursts else None
        # An int and a 12-byte string: a literal and a stack buffer are copied by loads, a
        # heap string is read with process_vm_readv.  Bursts of 4,000 (48-byte records).
        strs = {m: median([run_mode(m, 4000, 31, lambda pid, s=site: d.enable(pid, s), pin=True)
                           for _ in range(ROUNDS)])
                for m, site in (("burst-str", "bench:hotstr"), ("burst-stackstr", "bench:stackstr"),
                                ("burst-heapstr", "bench:heapstr"))}
        sled_en_ir = sled_enabled_ir(d)
        sled_general_ir = sled_enabled_ir(d, env={"SLED_FAST_PATH": "0"})
        full = median([run_mode("disabled", 20_000_000, 5, lambda pid: d.enable(pid, "bench:hot"),
                                pin=True)
                       for _ in range(ROUNDS)])
        pr = {}
        if os.geteuid() == 0 and shutil.which("bpftrace"):
            # The filter runs in the BPF program: the hit still traps, nothing is pushed.
            pr = peers(d, PEER_ROUNDS)
        filtered = median([run_mode("disabled", 20_000_000, 5,
                                    lambda pid: d.enable(pid, "bench:hot", "--filter", "acc == 0"),
                                    pin=True)
                           for _ in range(ROUNDS)])
    finally:
        d.stop()
    uprobe, uprobe_filtered = pr.get("uprobe"), pr.get("uprobe_filtered")
    bt_sdt, bt_ours, bt_printf = pr.get("bt_sdt"), pr.get("bt_count"), pr.get("bt_printf")

    base = tight["none"]
    print(f"{'variant':<52} {'ns/event':>10} {'vs none':>9} {'vs bpftrace':>12} {'vs LTTng':>9}")

    def row(name, ns, ref=base, vs_lttng=False):
        if ns is None:
            print(f"{name:<52} {'n/a':>10}")
            return
        vs_bt = f"{ns / bt_ours:.3f}x" if bt_ours else "n/a"
        vs_lt = f"{ns / lttng_burst:.3f}x" if vs_lttng and lttng_burst else ""
        print(f"{name:<52} {ns:>10.3f} {ns / ref:>8.2f}x {vs_bt:>12} {vs_lt:>9}")

    row("tight loop, no tracepoint", tight["none"])
    row("tight loop, disabled TRACEPOINT (2 int args)", tight["disabled"])
    row("tight loop, sys/sdt.h STAP_PROBE2, not attached", tight["sdt"])
    row("~27 ns work loop, no tracepoint", work["work-none"], work["work-none"])
    row("~27 ns work loop, disabled TRACEPOINT", work["work-disabled"], work["work-none"])
    row("LTTng-UST tight loop, no tracepoint", tight.get("lttng-none"), tight.get("lttng-none"))
    row("LTTng-UST tight loop, tracepoint, no session", tight.get("lttng-disabled"),
        tight.get("lttng-none"))
    row("sled mode enabled: event recorded in the ring", burst, vs_lttng=True)
    row("  the same, general path only (SLED_FAST_PATH=0)", general_burst, vs_lttng=True)
    row("LTTng-UST enabled: event recorded (session, tmpfs)", lttng_burst, vs_lttng=True)
    row("sled mode enabled: int + string literal", strs["burst-str"])
    row("sled mode enabled: int + string in a stack buffer", strs["burst-stackstr"])
    row("sled mode enabled: int + heap string (kernel read)", strs["burst-heapstr"])
    row("sled mode enabled: ring full, event dropped+counted", full)
    row("sled mode enabled: event filtered out (--filter)", filtered)
    row("uprobe mode (probed + BPF ring buffer)", uprobe)
    row("uprobe mode: event filtered out in BPF (--filter)", uprobe_filtered)
    row("bpftrace count() on sled's site (uprobe trap)", bt_ours)
    row("bpftrace printf of both args on sled's site", bt_printf)
    row("bpftrace count() on sys/sdt.h probe", bt_sdt)
    print()
    print(f"disabled - none: {tight['disabled'] - tight['none']:+.3f} ns/iteration in the tight loop, "
          f"{(work['work-disabled'] / work['work-none'] - 1) * 100:+.2f}% in the work loop")
    if extra_ir is not None:
        print(f"callgrind: disabled TRACEPOINT adds {extra_ir:.2f} instructions per iteration "
              f"(the site's NOPs)")
    if lttng_why:
        print(f"LTTng-UST rows skipped: {lttng_why}")
    else:
        print(f"LTTng-UST disabled - none: {tight['lttng-disabled'] - tight['lttng-none']:+.3f} ns/iteration "
              f"in the tight loop (sled: {tight['disabled'] - tight['none']:+.3f})")
        if lttng_dis_ir is not None:
            print(f"callgrind: disabled LTTng-UST tracepoint adds {lttng_dis_ir:.2f} instructions per iteration")
        if lttng_burst:
            print(f"enabled, recorded: sled {burst:.2f} ns, LTTng-UST {lttng_burst:.2f} ns per event "
                  f"(sled/LTTng {burst / lttng_burst:.3f}x; medians of {2 * ROUNDS + 1} interleaved runs "
                  f"of 31 bursts of 8,000; LTTng discarded {lttng_discarded} events)")
    if sled_en_ir is not None or sled_general_ir is not None or lttng_en_ir is not None:
        fmt = lambda v: "n/a" if v is None else f"{v:.0f}"  # noqa: E731
        print(f"callgrind, instructions per recorded event in the traced process (the consumer, "
              f"probed or lttng-consumerd, runs in another process and is not counted): "
              f"sled {fmt(sled_en_ir)} (general path only: {fmt(sled_general_ir)}), LTTng-UST {fmt(lttng_en_ir)}")
    if bt_ours:
        print(f"sled mode recorded event is {bt_ours / burst:.0f}x cheaper than bpftrace count() on the same site")
    if uprobe and bt_ours and bt_printf:
        print(f"uprobe mode: {uprobe / bt_ours:.3f}x bpftrace count(), {uprobe / bt_printf:.3f}x bpftrace "
              f"printf (medians of {PEER_ROUNDS} interleaved rounds; loop on CPU 0, consumer on CPU 1)")
    print(f"enable -p round trip (probectl start, patch, reply), median of 21: {enable_ms:.2f} ms")


if __name__ == "__main__":
    main()
