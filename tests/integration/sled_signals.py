#!/usr/bin/env python3
"""Enabling and disabling probes needs no signal and never harms the process: a process
whose threads block every signal, that has its own SIGTRAP handler, that hits a
tracepoint from a 10 kHz SIGALRM handler, that passes an unreadable and an unterminated
string, and global, struct-field and __thread arguments (symbolic operands at gcc -O2),
survives many enable/disable toggles of all its sites at once.

signals_app runs worker threads that block every signal and hit a guarded tracepoint in a
tight loop, a thread that raises SIGTRAP itself and counts what its own handler sees (the
handler hits a tracepoint) and between traps stores round values into a global, a
global struct's field and a __thread variable and hits sig:vals with them and sig:strs
with (char *)0x10 and "ABCDEFGH" ending at a PROT_NONE page, and a 10 kHz SIGALRM whose
handler hits a tracepoint.

Checks: every enable patches every site (guard and tracepoints, one batch) and every
disable restores them; the process survives and exits 0 after SIGTERM, its SIGTRAP
handler having seen exactly the traps it raised; every exported event is well-formed and
self-consistent (sig:vals carries the round's values, sig:strs an empty string for the
bad pointer and the 8 readable bytes of the unterminated one, both listed as truncated);
probed saw no malformed record and emitted == exported + dropped.  Every tracepoint's
events are waited for (on the events file, not a time window) before the process stops.

Usage: sled_signals.py BUILD_DIR     (SLED_SIGNALS_TOGGLES overrides the 1,000 toggles)
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (CtlClient, Daemon, Suite, cleanup_dir, isolate_dev_shm,  # noqa: E402
                      is_jmp_site, pid_running, probe_counts_settled, raise_priority,
                      read_mem, site_info, stop_app, EventsTail, wait_for_each)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "signals_app")
signals_check = os.path.join(build, "tests", "integration", "signals_check")

WORKERS = 2
TOGGLES = int(os.environ.get("SLED_SIGNALS_TOGGLES", "1000"))
PATTERN = "sig:*"

t = Suite()
raise_priority()
d = Daemon(probed, probectl)
raise_priority(d.proc.pid)
errlog = open(os.path.join(d.dir, "signals_app.err"), "w+")
# The workers share the last CPU at nice 19, leaving the others to probed and the agent.
pin = [str(os.cpu_count() - 1)] if (os.cpu_count() or 1) > 1 else []
# The smallest rings (64 KiB a thread): each disable drains the rings before it answers
# (exact accounting), and the workers fill whatever ring they have within microseconds of
# an enable, so the ring size is the event volume of a toggle: with the default 1 MiB,
# ~70,000 events to encode per toggle (and to check here), most of a toggle's time.  Full
# rings, drops and wrap-around still happen on every toggle.
app = subprocess.Popen([app_path, str(WORKERS), "19", *pin], stdout=subprocess.DEVNULL,
                       stderr=errlog, env=dict(os.environ, SLED_RING_SIZE="64K"))
client = None
try:
    deadline = time.time() + 10
    while not os.path.exists(f"/dev/shm/sled.{app.pid}") and time.time() < deadline:
        time.sleep(0.01)
    sites = site_info(probectl, app.pid, PATTERN)
    names = {"work", "trap", "alarm", "vals", "strs"}
    t.check(len(sites) >= len(names), f"signals_app has its sig:{','.join(sorted(names))} "
            f"sites ({sites})")

    # --- Toggle every site of the process at once, while workers, traps and alarms run.
    client = CtlClient(d.socket)
    enable = dict(cmd="enable", pattern=PATTERN, pid=app.pid)
    failures, slots, done, died_at = [], None, 0, None
    t0 = time.monotonic()
    for i in range(TOGGLES):
        r = client.request(**enable)
        r2 = client.request(cmd="disable", id=r["id"]) if r.get("ok") else {}
        procs = r.get("processes", [])
        if not (r.get("ok") and len(procs) == 1 and procs[0].get("failed") == 0):
            failures.append(f"enable #{i}: {r}")
        else:
            slots = procs[0].get("on") if slots is None else slots
            if procs[0].get("on") != slots or slots < len(names) + 1:
                failures.append(f"enable #{i} did not patch every site: {r}")
        if not r2.get("ok") or r2.get("disabled") != [r.get("id")]:
            failures.append(f"disable #{i}: {r2}")
        done = i + 1
        if app.poll() is not None:
            died_at = i
            break
        # No time bound here: a slow machine takes longer, ctest's TIMEOUT catches a hang.
        if len(failures) > 20:
            break
    elapsed = time.monotonic() - t0
    print(f"# {done} enable/disable pairs of {slots} slots in {elapsed:.2f} s", flush=True)
    t.check(died_at is None and app.poll() is None and pid_running(app.pid),
            f"the process survives the toggles (rc={app.poll()} after {done} toggles)")
    if app.poll() is not None:
        t.finish()  # nothing more to look at (the finally clause still cleans up)
    t.check(done == TOGGLES, f"all {TOGGLES} enable/disable pairs ran ({done})")
    t.check(not failures, f"every enable patched all {slots} slots (the guard too) and every "
            f"disable removed the probe ({len(failures)} failures)"
            + (": " + failures[0] if failures else ""))

    # --- After the last disable every site holds its NOPs again.
    mine = [s for s in client.request(cmd="sites").get("sites", []) if s["pid"] == app.pid]
    t.check(mine and all(s["state"] == "off" for s in mine), f"every slot is off ({mine})")
    patched = [a for a, _, _ in sites if is_jmp_site(read_mem(app.pid, a, 6))]
    t.check(not patched, f"no tracepoint site is left patched ({patched})")

    # --- A last enable stays while the process exits: the accounting must close.  Every
    # tracepoint's events are awaited before the process is stopped (nice-19 workers on a
    # busy machine may take a while; the toggles alone need not have caught every site).
    tail = EventsTail(d.events_path, from_end=True)
    r = client.request(**enable)
    final_id = r.get("id")
    t.check(r.get("ok"), "a final enable succeeds")
    mine_b, name_re = b'"pid":%d,' % app.pid, re.compile(rb'"name":"(\w+)"')

    def site_name(line):
        m = name_re.search(line) if mine_b in line else None
        return m.group(1).decode() if m else None
    seen = wait_for_each(tail, site_name, names)
    t.check(seen >= names, f"with the final probe on, events came from every tracepoint "
            f"(seen {sorted(seen)})")
    st = client.request(cmd="status")
    proc = next((p for p in st.get("processes", []) if p["pid"] == app.pid), {})
    t.check(proc.get("malformed") == 0, f"probed found no malformed record in the process's "
            f"rings (malformed={proc.get('malformed')})")
    app.send_signal(signal.SIGTERM)
    try:
        rc = app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    errlog.seek(0)
    summary = errlog.read().strip()
    print(f"# {summary}", flush=True)
    t.check(rc == 0, f"the process exits 0 after SIGTERM, its SIGTRAP handler saw exactly the "
            f"traps it raised (rc={rc}: {summary})")
    c = probe_counts_settled(lambda: client.request(cmd="status"), final_id)
    t.check(c is not None and c["emitted"] > 0 and c["emitted"] == c["exported"] + c["dropped"],
            f"emitted == exported + dropped ({c})")

    # --- Every exported event of this process is well-formed and self-consistent
    # (signals_check reads every line: millions, too many for Python's json in time).
    r = subprocess.run([signals_check, d.events_path, str(app.pid), str(WORKERS)],
                       capture_output=True, text=True, timeout=300)
    counts = {k: int(v) for k, v in (ln.split() for ln in r.stdout.splitlines()
                                     if ln.split()[:1] and ln.split()[0] in names)}
    print(f"# events: {counts}", flush=True)
    t.check(r.returncode == 0, "every exported event is well-formed and self-consistent"
            + ("" if r.returncode == 0 else ":\n" + (r.stdout + r.stderr)[-2000:]))
    t.check(len(counts) == len(names) and all(counts[n] > 0 for n in names),
            f"events came from the workers, the SIGTRAP handler, the SIGALRM handler and the "
            f"global/TLS/field and bad-string sites, all with the right values ({counts})")
finally:
    if client:
        client.close()
    stop_app(app)
    d.stop()
    if t.failed:
        print(d.log_text()[-4000:])
    cleanup_dir(d.dir, t.failed)
t.finish()
