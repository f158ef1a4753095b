#!/usr/bin/env python3
"""Uprobe mode (libbpf USDT attach + BPF ring buffer) against real processes, through
uprobe_driver (tests/integration/uprobe_driver.c): exact argument values, processes that
do not link libsled, a dlopen'd shared library, processes started after the attach,
attach by PID, bpftrace on the same probe at the same time, a flood (emitted = exported +
dropped), every argument type and string edge case (NULL, cut at 256 bytes, unreadable,
12 arguments) at -O0 (memory operands) and -O2 (registers, constants), and error messages.

    uprobe_mode.py --driver D --sample-basic B --header-only H --dlopen L --plugin P
                   --cc CC --include SLED_INCLUDE_DIR

Needs root (BPF, uprobes); exits 77 (skipped) without it or without BPF in the kernel.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

# Every argument type, and the string cases a uprobe meets: NULL, longer than the 256
# bytes kept, exactly 256, unreadable (PROT_NONE), empty; 12 arguments, 11 of them strings
# (the largest record).  Compiled at -O0 (arguments in stack slots: memory operands) and
# -O2 (registers and constants).
EDGE_APP = r"""
#include <sled/tracepoint.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	char longs[400], exact[257];
	const char *nul = NULL;
	char *unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = 0;
	memset(exact, 'y', 256);
	exact[256] = 0;
	for (int i = 0; i < n; i++) {
		int8_t a = (int8_t)(-5 - i);
		uint16_t b = (uint16_t)(65000 + i);
		int32_t c = -100000 * (i + 1);
		int64_t d = -(1LL << 40) - i;
		uint64_t e = 0xfedcba9876543210ULL + (uint64_t)i;
		bool f = i & 1;
		float g = 0.25f * (float)(i + 1);
		double h = -2.5 * (i + 1);
		void *p = (void *)(uintptr_t)(0x1000 + i);

		TRACEPOINT(edge, types, a, b, c, d, e, f, g, h, p, TP_FIELD(k, 7));
		TRACEPOINT(edge, strings, nul, longs, exact, unmapped, TP_FIELD(empty, ""), i);
		TRACEPOINT(edge, twelve, i, TP_FIELD(s1, longs), TP_FIELD(s2, exact),
			   TP_FIELD(s3, longs), TP_FIELD(s4, exact), TP_FIELD(s5, longs),
			   TP_FIELD(s6, exact), TP_FIELD(s7, longs), TP_FIELD(s8, exact),
			   TP_FIELD(s9, longs), TP_FIELD(s10, exact), TP_FIELD(s11, longs));
	}
	return 0;
}
"""

SKIP = 77


class Suite:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print("ok   " + what, flush=True)
        else:
            self.failed += 1
            print("FAIL " + what, flush=True)
        return ok

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


def ensure_tracefs():
    """bpftrace wants tracefs; the kernel's uprobe PMU does not.  Mount it once, saying so."""
    t = "/sys/kernel/tracing"
    if os.path.exists(os.path.join(t, "uprobe_events")):
        return
    if subprocess.run(["mount", "-t", "tracefs", "nodev", t], capture_output=True).returncode == 0:
        print(f"mounted tracefs at {t} (bpftrace needs it)", file=sys.stderr, flush=True)


class Driver:
    """uprobe_driver attached to provider:name of binary; events and counts once stopped."""

    def __init__(self, exe, binary, probe, pid=None, extra=()):
        argv = [exe, "-t", "60", *extra]
        if pid is not None:
            argv += ["-p", str(pid)]
        argv += [binary, probe]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        self.attached = json.loads(line)["attached"] if line.startswith('{"attached"') else None
        self.events, self.counts, self.stderr, self.lines = [], None, "", []
        # Read as the driver writes: a full pipe would stall its draining.
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout),
                                       daemon=True)
        self.reader.start()
        if not self.attached:
            self._collect(timeout=10)

    def _collect(self, timeout):
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout)
        self.stderr += self.proc.stderr.read()
        for line in self.lines:
            obj = json.loads(line)
            if "counts" in obj:
                self.counts = obj["counts"]
            else:
                self.events.append(obj)
        return self

    def stop(self, timeout=20):
        """SIGTERM: the driver detaches, drains what is left, prints the counts."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._collect(timeout)

    def balanced(self):
        c = self.counts
        return bool(c) and c["emitted"] == c["exported"] + c["dropped"] and \
            c["exported"] == len(self.events) and c["malformed"] == 0 and c["stale"] == 0


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.DEVNULL, timeout=60, check=True, **kw)


def request_ok(e):
    a = e["args"]
    i = a["id"]
    return a == {"id": i, "twice": 2 * i, "name": f"req-{i}", "latency": 1.5 * i} and \
        e["provider"] == "sample" and e["name"] == "request" and e.get("mode") == "uprobe" \
        and e["tid"] == e["pid"]


def contiguous(ids, last):
    return bool(ids) and ids == list(range(ids[0], last + 1))


def main():
    ap = argparse.ArgumentParser()
    for a in ("driver", "sample-basic", "header-only", "dlopen", "plugin", "cc", "include"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("skipped: uprobe mode needs root")
        sys.exit(SKIP)
    ensure_tracefs()
    s = Suite()
    basic, drv = args.sample_basic, args.driver

    # 1. Attached (pid -1) before the process starts: every hit, exact values.
    n = 25
    d = Driver(drv, basic, "sample:request")
    if d.attached is None:
        if d.proc.returncode == 3:
            print("skipped: " + d.stderr.strip())
            sys.exit(SKIP)
        s.check(False, "attach sample:request: " + d.stderr.strip())
        s.finish()
    s.check(d.attached["fields"] == 4 and d.attached["sites"] == 1,
            f"sample:request attached: 4 fields, 1 site ({d.attached})")
    s.check(d.attached["fds"] == 2 * d.attached["sites"],
            f"attach costs 2 fds per site (perf event + BPF link): {d.attached['fds']} fds")
    t0 = time.time_ns()
    app = subprocess.Popen([basic, str(n), "5"], stdout=subprocess.DEVNULL)
    app.wait()
    t1 = time.time_ns()
    d.stop()
    ev = d.events
    s.check(len(ev) == n, f"sample_basic {n}: {len(ev)} events, expected exactly {n}")
    s.check(sorted(e["args"]["id"] for e in ev) == list(range(1, n + 1)), "ids are 1..N, once each")
    s.check(all(request_ok(e) for e in ev),
            "every event: twice == 2*id, name == \"req-<id>\", latency == 1.5*id, mode uprobe")
    s.check(all(e["pid"] == app.pid for e in ev), "pid and tid are the process's")
    s.check(all(t0 <= e["ts"] <= t1 for e in ev),
            "ts is CLOCK_REALTIME ns within the process's lifetime")
    s.check([e["ts"] for e in ev] == sorted(e["ts"] for e in ev), "ts increase with id")
    s.check(d.balanced() and d.counts["emitted"] == n and d.counts["dropped"] == 0,
            f"counts: emitted = exported = {n}, dropped 0 ({d.counts})")

    # 2. pid -1 covers a process already running and one started after the attach.
    early = subprocess.Popen([basic, "100", "20"], stdout=subprocess.DEVNULL)
    time.sleep(0.2)
    d = Driver(drv, basic, "sample:request")
    late = subprocess.Popen([basic, "5", "10"], stdout=subprocess.DEVNULL)
    late.wait()
    early.wait()
    d.stop()
    by_pid = {}
    for e in d.events:
        by_pid.setdefault(e["pid"], []).append(e["args"]["id"])
    s.check(sorted(by_pid.get(late.pid, [])) == [1, 2, 3, 4, 5],
            "a process started after the attach (pid -1) is traced: ids 1..5")
    s.check(contiguous(sorted(by_pid.get(early.pid, [])), 100),
            f"a process running before the attach is traced from then on: "
            f"ids {min(by_pid.get(early.pid, [0]))}..100")
    s.check(set(by_pid) <= {early.pid, late.pid} and all(request_ok(e) for e in d.events)
            and d.balanced(), "values exact, counts balanced")

    # 3. Attach by pid: that process only.
    a = subprocess.Popen([basic, "100", "20"], stdout=subprocess.DEVNULL)
    b = subprocess.Popen([basic, "100", "20"], stdout=subprocess.DEVNULL)
    time.sleep(0.1)
    d = Driver(drv, basic, "sample:request", pid=a.pid)
    a.wait()
    b.wait()
    d.stop()
    pids = {e["pid"] for e in d.events}
    s.check(pids == {a.pid}, f"-p {a.pid}: events only from that process (pids {sorted(pids)})")
    s.check(contiguous([e["args"]["id"] for e in d.events], 100) and
            all(request_ok(e) for e in d.events) and d.balanced(),
            f"-p: ids contiguous up to 100 ({len(d.events)} events), values exact, "
            f"counts balanced")

    # 4. A program that does not link libsled at all (header only).
    ho = args.header_only
    linked = subprocess.run(["ldd", ho], capture_output=True, text=True).stdout
    s.check("libsled" not in linked, "header_only_app does not link libsled")
    d = Driver(drv, ho, "app:tick")
    run([ho, "12"])
    d.stop()
    s.check([e["args"] for e in d.events] == [{"i": i} for i in range(12)] and d.balanced(),
            f"header_only_app 12: app:tick i = 0..11 ({len(d.events)} events)")

    # 5. A dlopen'd shared library, by library path, pid -1, loaded after the attach.
    plugin, dl = args.plugin, args.dlopen

    def label_ok(e):
        v = e["args"]["value"]
        return e["args"]["label"] == f"{'even' if v % 2 == 0 else 'odd'}:{v}"

    d = Driver(drv, plugin, "plugin:handle")
    run([dl, "-l", plugin, "8", "5"])
    d.stop()
    s.check([e["args"]["value"] for e in d.events] == list(range(1, 9)),
            f"plugin:handle via the library path: values 1..8 ({len(d.events)} events)")
    s.check(all(label_ok(e) for e in d.events) and d.balanced(),
            "plugin:handle label is \"even:N\"/\"odd:N\", counts balanced")

    # ... and by pid, in a process that already loaded it.
    app = subprocess.Popen([dl, "-v", "-l", plugin, "0", "10"], stdout=subprocess.PIPE, text=True)
    app.stdout.readline()  # "loaded ..."
    d = Driver(drv, plugin, "plugin:handle", pid=app.pid)
    time.sleep(0.5)
    app.kill()
    app.wait()
    d.stop()
    vals = [e["args"]["value"] for e in d.events]
    s.check(len(vals) >= 10 and vals == list(range(vals[0], vals[0] + len(vals))) and
            all(label_ok(e) and e["pid"] == app.pid for e in d.events) and d.balanced(),
            f"plugin:handle -p on a running process: {len(vals)} events, consecutive values, "
            f"labels exact")

    # 6. bpftrace on the same probe at the same time: both see every hit.
    if shutil.which("bpftrace"):
        prog = (f'usdt:{basic}:sample:request {{ printf("%d %d %s\\n", arg0, arg1, str(arg2)); }}')
        bt = subprocess.Popen(["bpftrace", "-e", prog], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        line = bt.stdout.readline()
        while line and "Attaching" not in line:
            line = bt.stdout.readline()
        d = Driver(drv, basic, "sample:request")
        run([basic, "10", "10"])
        time.sleep(0.5)  # bpftrace's perf buffer
        d.stop()
        bt.send_signal(signal.SIGINT)
        out = bt.communicate(timeout=30)[0]
        lines = [ln for ln in out.splitlines() if ln and ln[0].isdigit()]
        s.check(lines == [f"{i} {2 * i} req-{i}" for i in range(1, 11)],
                f"bpftrace attached at the same time sees all 10 hits, exact values "
                f"({len(lines)} lines)")
        s.check(sorted(e["args"]["id"] for e in d.events) == list(range(1, 11)) and
                all(request_ok(e) for e in d.events) and d.balanced(),
                f"uprobe mode beside bpftrace: all 10 hits, exact values ({len(d.events)} events)")
    else:
        print("skip bpftrace: not installed")

    # 7. A flood: no sleep between hits; nothing lost silently.
    n = 50000
    d = Driver(drv, basic, "sample:request")
    run([basic, str(n), "0"])
    d.stop(timeout=60)
    c = d.counts or {}
    ids = [e["args"]["id"] for e in d.events]
    s.check(d.balanced() and c.get("emitted") == n,
            f"flood of {n}: emitted {c.get('emitted')} = exported {c.get('exported')} + "
            f"dropped {c.get('dropped')}")
    s.check(ids == sorted(ids) and len(set(ids)) == len(ids) and
            all(request_ok(e) for e in d.events), "flood: every exported event exact, in order")

    # 8. Every type and the string edge cases, at -O0 and -O2.
    tmp = tempfile.mkdtemp(prefix="uprobe_mode.")
    src = os.path.join(tmp, "edge_app.c")
    with open(src, "w") as f:
        f.write(EDGE_APP)
    n = 3
    for opt in ("-O0", "-O2"):
        exe = os.path.join(tmp, "edge_app" + opt)
        subprocess.run([args.cc, "-std=gnu11", opt, "-I", args.include, src, "-o", exe],
                       check=True)
        ds = {p: Driver(drv, exe, "edge:" + p) for p in ("types", "strings", "twelve")}
        run([exe, str(n)])
        for d in ds.values():
            d.stop()
        types = [e["args"] for e in ds["types"].events]
        want = [{"a": -5 - i, "b": 65000 + i, "c": -100000 * (i + 1), "d": -(1 << 40) - i,
                 "e": 0xFEDCBA9876543210 + i, "f": bool(i & 1), "g": 0.25 * (i + 1),
                 "h": -2.5 * (i + 1), "p": 0x1000 + i, "k": 7} for i in range(n)]
        s.check(types == want and ds["types"].balanced(),
                f"{opt}: i8 u16 i32 i64 u64 bool float double pointer constant, exact "
                f"({types[:1]})")
        strs = ds["strings"].events
        s.check(len(strs) == n and all(
            e["args"] == {"nul": None, "longs": "x" * 256, "exact": "y" * 256, "unmapped": "",
                          "empty": "", "i": i} and
            sorted(e.get("truncated", [])) == ["longs", "unmapped"]
            for i, e in enumerate(strs)) and ds["strings"].balanced(),
                f"{opt}: NULL -> null; 399 bytes -> 256 kept + truncated; exactly 256 -> "
                f"not truncated; unreadable -> \"\" + truncated; \"\" -> \"\"")
        tw = ds["twelve"].events
        s.check(len(tw) == n and all(
            e["args"] == dict([("i", i)] + [(f"s{k}", "x" * 256 if k % 2 else "y" * 256)
                                            for k in range(1, 12)])
            for i, e in enumerate(tw)) and ds["twelve"].balanced(),
                f"{opt}: 12 arguments, 11 strings of 256 bytes (the largest record), exact")
    shutil.rmtree(tmp, ignore_errors=True)

    # 9. Errors: one line, exit status 1.
    def err(argv):
        r = subprocess.run([drv, "-t", "1", *argv], capture_output=True, text=True, timeout=30)
        return r.returncode, r.stderr.strip()

    rc, msg = err([basic, "sample:nosuch"])
    s.check(rc == 1 and msg.startswith("Error: cannot attach sample:nosuch: no such tracepoint")
            and "\n" not in msg, f"unknown tracepoint: {msg!r}")
    rc, msg = err(["/nonexistent/app", "a:b"])
    s.check(rc == 1 and "No such file or directory" in msg and "\n" not in msg,
            f"missing binary: {msg!r}")
    rc, msg = err(["/etc/hostname", "a:b"])
    s.check(rc == 1 and "not an ELF file" in msg and "\n" not in msg, f"not ELF: {msg!r}")
    rc, msg = err(["-p", "999999999", basic, "sample:request"])
    s.check(rc == 1 and "no process 999999999" in msg, f"no such pid: {msg!r}")
    s.finish()


if __name__ == "__main__":
    main()
