#!/usr/bin/env python3
"""Sled mode and the red zone: a tracepoint in the middle of a leaf function that keeps
live data in the 128 bytes below %rsp.  The enabled sled (jmp to a stub that steps over
the red zone) must leave that data intact: the program compares every result with a
reference computation and exits non-zero at the first mismatch, over millions of calls,
while the test switches the tracepoint on and off under it.

First the test reads the disassembly of rz_checksum (objdump) to make sure the premise
holds: a leaf (no call, no push), red-zone stores before the site and loads after it,
covering -0x10(%rsp)..-0x1(%rsp), where a push or call at the site would write.

Usage: sled_redzone.py BUILD_DIR
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (SITE_OFF, is_loss_record, CtlClient, Daemon, Suite, cleanup_dir,  # noqa: E402
                      count_lines, is_jmp_site, isolate_dev_shm, pid_running, raise_priority,
                      read_mem_or_none, sample_lines, site_info, stop_app)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
redzone_app = os.path.join(build, "tests", "integration", "redzone_app")
MASK64 = (1 << 64) - 1
RZ_WORDS = 16  # as in redzone_app.c
WINDOWS = 100  # enable/disable windows while the program runs


def word_of(seed, i):  # as in redzone_app.c
    return ((seed * (2 * i + 3)) ^ (seed >> (i + 1)) ^ (0x9E3779B97F4A7C15 * (i + 1))) & MASK64


def disassembly(path, func):
    """[(address, text)] of one function, from objdump -d."""
    r = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                       text=True, check=True)
    out, inside = [], False
    for line in r.stdout.splitlines():
        if re.match(rf"^[0-9a-f]+ <{func}>:$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
            if not m:
                break
            out.append((int(m.group(1), 16), m.group(2).strip()))
    return out


def rsp_refs(insn):
    """Displacements of the %rsp-based memory operands of an AT&T instruction, each with
    whether it is the destination (the last operand) and whether it is indexed."""
    refs = []
    operands = insn.split(None, 1)[1] if " " in insn else ""
    for m in re.finditer(r"(-?0x[0-9a-f]+|-?\d+)?\(%rsp(,%\w+,(\d))?\)", operands):
        disp = int(m.group(1), 0) if m.group(1) else 0
        refs.append((disp, operands.endswith(m.group(0)), m.group(2) is not None))
    return refs


t = Suite()

# --- the premise: rz_checksum is a leaf that keeps live data in the red zone at the site.
sites = subprocess.run([probectl, "list", "--json", "-b", redzone_app, "redzone:mid"],
                       capture_output=True, text=True, check=True)
pcs = [s["pc"] for row in json.loads(sites.stdout) for s in row["sites"]]
t.check(len(pcs) == 1, f"redzone:mid has one site ({pcs})")
pc = pcs[0] if pcs else 0
dis = disassembly(redzone_app, "rz_checksum")
site_idx = [i for i, (a, _) in enumerate(dis) if a == pc]
t.check(bool(dis) and site_idx and dis[site_idx[0]][1] == "nop" and dis[site_idx[0] + 1][1].startswith("nopl"),
        "the site is inside rz_checksum: nop + nopl at the note's pc")
t.check(not any(re.match(r"(call|push)", txt) for _, txt in dis),
        "rz_checksum is a leaf: no call, no push")
adjust = sum(int(m.group(1), 16) for _, txt in dis
             for m in [re.match(r"sub\s+\$0x([0-9a-f]+),%rsp$", txt)] if m)
before = [(a, txt, r) for a, txt in dis if a < pc for r in rsp_refs(txt)]
after = [(a, txt, r) for a, txt in dis if a > pc for r in rsp_refs(txt)]
stores = [r for _, _, r in before if r[1] and r[0] < 0]
loads = [r for _, _, r in after if not r[1] and r[0] < 0]
t.check(bool(stores) and bool(loads),
        f"red-zone stores before the site ({[hex(r[0]) for r in stores]}) and loads after it "
        f"({[hex(r[0]) for r in loads]}), %rsp lowered by only {adjust} bytes")
# The array: indexed accesses at its base, RZ_WORDS words long.
bases = sorted({r[0] for r in stores + loads if r[2]})
live = (bases[0], min(0, bases[0] + 8 * RZ_WORDS)) if bases else (0, 0)
t.check(live[0] >= -128 and live[0] <= -16 and live[1] == 0,
        f"live data below %rsp at the site spans {live[0]}..{live[1] - 1}: "
        f"{live[1] - live[0]} red-zone bytes, -16..-1 included (where a push or call would write)")

# --- the program runs; the tracepoint is switched on and off under it.
raise_priority()
d = Daemon(probed, probectl)
raise_priority(d.proc.pid)
errlog = open(os.path.join(d.dir, "redzone_app.err"), "w+")
# The smallest rings (64 KiB): each disable drains the rings before it answers, and the
# loop fills whatever ring it has within a window, so with the default 1 MiB most of a
# window's time went to encoding ~50,000 events; full rings and drops are there either way.
app = subprocess.Popen([redzone_app, "1"], stdout=subprocess.DEVNULL, stderr=errlog,
                       env=dict(os.environ, SLED_RING_SIZE="64K"))
client = None
try:
    deadline = time.time() + 10
    while not os.path.exists(f"/dev/shm/sled.{app.pid}") and time.time() < deadline:
        time.sleep(0.01)
    addr = site_info(probectl, app.pid, "redzone:mid")[0][0]
    time.sleep(0.3)  # disabled first
    client = CtlClient(d.socket)
    emitted = exported = dropped = 0
    failures, not_jmp, t0 = [], 0, time.monotonic()
    for w in range(WINDOWS):
        r = client.request(cmd="enable", pattern="redzone:mid", pid=app.pid)
        if not r.get("ok") or r["processes"][0]["on"] != 1 or app.poll() is not None:
            failures.append(r)
            break
        not_jmp += not is_jmp_site(read_mem_or_none(app.pid, addr, 6) or b"")
        time.sleep(0.001 + (w % 5) * 0.001)  # 1..5 ms on
        st = client.request(cmd="status")
        c = next((p for p in st["probes"] if p["id"] == r["id"]), None)
        if c is None:
            failures.append(st)
            break
        emitted += c["emitted"]
        exported += c["exported"]
        dropped += c["dropped"]
        r2 = client.request(cmd="disable", id=r["id"])
        if not r2.get("ok"):
            failures.append(r2)
            break
        if app.poll() is not None:
            break
        time.sleep(0.001 * (w % 5))  # 0..4 ms off
    elapsed = time.monotonic() - t0
    print(f"# {WINDOWS} enabled windows in {elapsed:.1f} s: {emitted} calls while enabled, "
          f"{exported} events exported, {dropped} dropped", flush=True)
    t.check(not failures and not_jmp == 0,
            f"every enable patched the site into a jmp ({str(failures[:1])[:300]}, {not_jmp} not jmp)")
    errlog.seek(0)
    t.check(app.poll() is None and pid_running(app.pid),
            "the program is still running after the enable/disable windows (no mismatch, no crash)"
            + ("" if app.poll() is None else f" (exit {app.returncode}: {errlog.read().strip()})"))
    t.check(read_mem_or_none(app.pid, addr, 6) == SITE_OFF, "the site is a NOP again after the last disable")
    t.check(emitted > 100000, f"rz_checksum ran with the sled enabled ({emitted} times)")

    # events carry the values the site saw in the red zone (the arg spec reads t[0] at a
    # negative offset from %rsp); a sample spread over the file: there are millions
    n_lines = count_lines(d.events_path)
    evs = [e for e in (json.loads(line) for line in sample_lines(d.events_path, 20000))
           if not is_loss_record(e)]
    bad = [e for e in evs if e["name"] != "mid" or e["args"]["first"] != word_of(e["args"]["seed"], 0)
           or e["args"]["last"] != word_of(e["args"]["seed"], RZ_WORDS - 1)]
    t.check(len(evs) > 1000 and not bad,
            f"events carry first/last == t[0]/t[15] of their seed, read from the red zone "
            f"({len(evs)} of {n_lines} events checked, {len(bad)} bad{': ' + str(bad[0]) if bad else ''})")

    # more calls with the sled disabled, then stop: exit 0 means no mismatch ever
    time.sleep(0.3)
    app.send_signal(signal.SIGTERM)
    try:
        rc = app.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    errlog.seek(0)
    summary = errlog.read().strip()
    m = re.search(r"(\d+) calls", summary)
    calls = int(m.group(1)) if m else 0
    print(f"# {summary}", flush=True)
    t.check(rc == 0, f"the program exits 0: every result, enabled or not, equals the reference "
            f"(rc={rc}: {summary})")
    t.check(calls >= 1000000, f"millions of calls were checked ({calls})")
    t.check(d.proc.poll() is None, "probed is still running")
finally:
    if client:
        client.close()
    stop_app(app)
    d.stop()
    if t.failed:
        print(d.log_text()[-3000:])
    cleanup_dir(d.dir, t.failed)
t.finish()
