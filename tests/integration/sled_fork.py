#!/usr/bin/env python3
"""Sled mode across fork(): a traced app forks while its tracepoint is enabled and hot
(fork_app: two threads emitting forkapp:tick with their own pid and tid as arguments).

Checks: the child does not crash; the sled it inherited patched is a NOP again in the
child (/proc/CHILD/mem) while the probe is for the parent's pid only, and the parent's is
still a jmp; the parent's events keep flowing; a standing probe (no pid) reaches the
child, whose events carry the child's pid both as field and as event pid; no event was
ever recorded into another process's rings (field pid/tid == event pid/tid for every
event); a storm of short-lived children forked while everything is enabled all exit 0.

Usage: sled_fork.py BUILD_DIR
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (SITE_OFF, CtlClient, Daemon, Suite, cleanup_dir,  # noqa: E402
                      is_jmp_site, isolate_dev_shm, pid_running, raise_priority, read_events,
                      read_mem_or_none, site_info, stop_app, wait_until)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
fork_app = os.path.join(build, "tests", "integration", "fork_app")
STORM = 20


def pid_lines(pid):
    key = f'"pid":{pid},'.encode()
    try:
        with open(d.events_path, "rb") as f:
            return f.read().count(key)
    except FileNotFoundError:
        return 0


t = Suite()
raise_priority()
d = Daemon(probed, probectl)
raise_priority(d.proc.pid)
errlog = open(os.path.join(d.dir, "fork_app.err"), "w+")
app = subprocess.Popen([fork_app, "200", str(STORM)], stdout=subprocess.PIPE, stderr=errlog,
                       text=True)
out_lines = []
reader = threading.Thread(target=lambda: out_lines.extend(iter(app.stdout.readline, "")),
                          daemon=True)
reader.start()


def line_starting(prefix, timeout):
    got, _ = wait_until(lambda: next((l for l in out_lines if l.startswith(prefix)), None),
                        timeout)
    return got


child = None
client = None
try:
    wait_until(lambda: os.path.exists(f"/dev/shm/sled.{app.pid}"), 10)
    addr = site_info(probectl, app.pid, "forkapp:tick")[0][0]
    client = CtlClient(d.socket)
    r = client.request(cmd="enable", pattern="forkapp:tick", pid=app.pid)
    parent_probe = r.get("id")
    t.check(r.get("ok") and r["processes"][0]["on"] == 1, "enabled in the parent (-p)")
    flowing, _ = wait_until(lambda: pid_lines(app.pid) > 200, 10)
    t.check(flowing, f"the parent's events flow ({pid_lines(app.pid)})")

    # --- fork while enabled and hot (the worker thread keeps hitting the site).
    app.send_signal(signal.SIGUSR1)
    line = line_starting("child ", 10)
    child = int(line.split()[1]) if line else None
    t.check(child is not None, f"the parent forked a child ({line and line.strip()})")
    if child is None:
        raise RuntimeError("no child")
    time.sleep(1.5)  # the daemon sees the child's block (inotify, rescan every second)
    t.check(pid_running(child), "the child is running 1.5 s after the fork")
    cbytes = read_mem_or_none(child, addr, 6)
    t.check(cbytes == SITE_OFF,
            f"the child's inherited sled is a NOP again ({cbytes.hex() if cbytes else None})")
    t.check(is_jmp_site(read_mem_or_none(app.pid, addr, 6) or b""), "the parent's sled is still a jmp")
    before = pid_lines(app.pid)
    time.sleep(0.5)
    t.check(pid_lines(app.pid) > before, f"the parent's events still flow after the fork "
            f"({before} -> {pid_lines(app.pid)})")
    t.check(pid_lines(child) == 0, "no event from the child while only the parent is probed")
    t.check(os.path.exists(f"/dev/shm/sled.{child}"), "the child has its own block")
    st = client.request(cmd="status")
    t.check(child in {p["pid"] for p in st["processes"]}, "the daemon attached to the child")

    # --- a standing probe reaches the child.
    r = client.request(cmd="enable", pattern="forkapp:tick")
    standing = r.get("id")
    t.check(r.get("ok") and any(p["pid"] == child and p["on"] == 1 for p in r.get("processes", [])),
            f"a standing probe (no pid) is applied to the child ({r.get('processes')})")
    t.check(is_jmp_site(read_mem_or_none(child, addr, 6) or b""), "the child's sled is now a jmp")
    got, waited = wait_until(lambda: pid_lines(child) > 200, 10)
    t.check(got, f"the child's events flow ({pid_lines(child)} in {waited:.1f} s)")

    # --- a storm of short-lived children forked while parent and child are enabled.
    app.send_signal(signal.SIGUSR2)
    line = line_starting("storm ", 30)
    t.check(line is not None and line.split() == ["storm", str(STORM), "ok", str(STORM)],
            f"{STORM} short-lived children forked while enabled all exit 0 ({line and line.strip()})")
    t.check(pid_running(child) and app.poll() is None, "parent and child are still running")

    # --- stop: the parent stops and reaps its child, which must exit 0.
    client.request(cmd="disable", id=standing)
    client.request(cmd="disable", id=parent_probe)
    t.check(read_mem_or_none(child, addr, 6) == SITE_OFF and
            read_mem_or_none(app.pid, addr, 6) == SITE_OFF, "disable restores both sleds")
    app.send_signal(signal.SIGTERM)
    rc = app.wait(timeout=20)
    reader.join(timeout=5)
    errlog.seek(0)
    err = errlog.read().strip()
    cl = line_starting("child exit ", 1)
    t.check(rc == 0 and cl and cl.split()[2] == "0", f"parent and child exit 0 (parent rc={rc}, "
            f"{cl and cl.strip()}{', ' + err if err else ''})")

    # --- every event was recorded by the process (and thread) it claims to come from.
    time.sleep(0.3)
    client.close()
    client = None
    d.stop()  # flushes the output
    evs, bad = read_events(d.events_path)
    t.check(not bad, f"every line of the events file is JSON ({len(bad)} bad)")
    wrong = [e for e in evs if e["args"]["pid"] != e["pid"] or e["args"]["tid"] != e["tid"]]
    by_pid = {}
    for e in evs:
        by_pid[e["pid"]] = by_pid.get(e["pid"], 0) + 1
    storm_pids = set(by_pid) - {app.pid, child}
    print(f"# events: parent {by_pid.get(app.pid, 0)}, child {by_pid.get(child, 0)}, "
          f"{len(storm_pids)} storm children {sum(by_pid[p] for p in storm_pids)}", flush=True)
    t.check(not wrong, f"field pid/tid == event pid/tid in all {len(evs)} events: no process "
            f"wrote into another's rings ({len(wrong)} wrong{': ' + str(wrong[:2]) if wrong else ''})")
    last = {}
    disorder = 0
    for e in evs:
        k = (e["pid"], e["tid"])
        disorder += k in last and e["args"]["seq"] <= last[k]
        last[k] = e["args"]["seq"]
    t.check(disorder == 0, f"per thread, seq strictly increases ({disorder} out of order)")
    t.check(by_pid.get(child, 0) > 0 and all(e["args"]["pid"] == child for e in evs if e["pid"] == child),
            "the child's events carry the child's pid as field and as event pid")
finally:
    if client:
        client.close()
    if child and pid_running(child):
        os.kill(child, signal.SIGKILL)
    stop_app(app)
    d.stop()
    if t.failed:
        print(d.log_text()[-3000:])
    cleanup_dir(d.dir, t.failed)
t.finish()
