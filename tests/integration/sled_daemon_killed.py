#!/usr/bin/env python3
"""Sled mode when the daemon dies: kill -9 probed while events flow.  The app keeps
running; once the heartbeat stops for its timeout (3 s) the app's agent restores every
sled it had patched (checked through /proc/PID/mem, within 6 s); a new probed started
on the same socket path (the dead one left its socket file behind) picks the app up
again: enable works and events flow, all self-consistent.

Usage: sled_daemon_killed.py BUILD_DIR
"""
import os
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (SITE_OFF, block_path, CtlClient, Daemon, DaemonAt, Suite,  # noqa: E402
                      cleanup_dir, count_lines, is_jmp_site, isolate_dev_shm, pid_running,
                      raise_priority, read_mem_or_none, site_info, socket_answers, stop_app,
                      wait_until)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress_app = os.path.join(build, "tests", "integration", "stress_app")
stress_check = os.path.join(build, "tests", "integration", "stress_check")
THREADS = 2
RESTORES_OFFSET = 148  # struct sled_shm_header.restores (shm_layout.h)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def block_restores(pid):
    with open(block_path(pid), "rb") as f:
        f.seek(RESTORES_OFFSET)
        return struct.unpack("<I", f.read(4))[0]


t = Suite()
raise_priority()
d = Daemon(probed, probectl)
raise_priority(d.proc.pid)
d2 = None
errlog = open(os.path.join(d.dir, "stress_app.err"), "w+")
# two threads, each pausing 1 ms every 64 events: a steady flow, not a flood
app = subprocess.Popen([stress_app, str(THREADS), "1000"], stdout=subprocess.DEVNULL, stderr=errlog)
try:
    wait_until(lambda: os.path.exists(f"/dev/shm/sled.{app.pid}"), 10)
    addr = site_info(probectl, app.pid, "stress:hit")[0][0]
    c = CtlClient(d.socket)
    r = c.request(cmd="enable", pattern="stress:hit", pid=app.pid)
    t.check(r.get("ok") and is_jmp_site(read_mem_or_none(app.pid, addr, 6) or b""),
            "enabled through the first probed: the sled is a jmp")
    flowing, _ = wait_until(lambda: count_lines(d.events_path) > 1000, 10)
    t.check(flowing, f"events flow ({count_lines(d.events_path)} lines)")
    c.close()

    # --- kill -9 the daemon with the sled enabled and events flowing.
    ticks_before = cpu_ticks(app.pid)
    d.proc.kill()
    d.proc.wait()
    t_kill = time.monotonic()
    restored, latency = wait_until(lambda: read_mem_or_none(app.pid, addr, 6) == SITE_OFF, 10, 0.01)
    print(f"# sled restored {latency:.2f} s after kill -9 (heartbeat timeout 3 s)", flush=True)
    t.check(app.poll() is None and pid_running(app.pid), "the app keeps running after probed is killed")
    t.check(restored and latency <= 6.0,
            f"the app restores its sled within 6 s of the daemon's death ({latency:.2f} s)")
    # the agent counts the restore just after writing the last sled back: allow it a moment
    wait_until(lambda: block_restores(app.pid) == 1, 1.0)
    t.check(block_restores(app.pid) == 1, f"the block counts one restore ({block_restores(app.pid)})")
    time.sleep(0.3)
    t.check(app.poll() is None and cpu_ticks(app.pid) > ticks_before,
            "the app still runs its loops after the restore")
    stale = os.path.exists(d.socket) and not socket_answers(d.socket)
    t.check(stale, "the killed daemon left its socket file behind, nobody listening")

    # --- a new probed on the same socket path picks the app up again.
    events2 = os.path.join(d.dir, "events2.jsonl")
    d2 = DaemonAt(probed, probectl, d.socket, events2)
    raise_priority(d2.proc.pid)
    c2 = CtlClient(d2.socket)
    seen, waited = wait_until(lambda: any(p["pid"] == app.pid for p in
                                          c2.request(cmd="status")["processes"]), 5, 0.1)
    t.check(seen, f"the new probed finds the app by itself ({waited:.1f} s)")
    st = c2.request(cmd="status")
    proc = next((p for p in st["processes"] if p["pid"] == app.pid), {})
    t.check(proc.get("restores") == 1 and proc.get("sites_on") == 0,
            f"status of the new probed: the app restored once, no site on ({proc})")
    # The rings still hold what the threads recorded between the kill and the restore:
    # valid records of the dead daemon's probe, which the new probed has no probe for.
    t.check(proc.get("malformed") == 0,
            f"the new probed does not count the events left in the rings as malformed "
            f"records (malformed={proc.get('malformed')})")
    r = c2.request(cmd="enable", pattern="stress:hit", pid=app.pid)
    t.check(r.get("ok") and r["processes"][0]["on"] == 1 and
            is_jmp_site(read_mem_or_none(app.pid, addr, 6) or b""),
            f"enable through the new probed patches the sled again ({r})")
    flowing2, waited = wait_until(lambda: count_lines(events2) > 1000, 10)
    t.check(flowing2, f"events flow to the new probed ({count_lines(events2)} lines in {waited:.1f} s)")
    # past the heartbeat timeout, the new daemon's beats keep the sled on
    time.sleep(4.0)
    t.check(is_jmp_site(read_mem_or_none(app.pid, addr, 6) or b"") and block_restores(app.pid) == 1,
            "4 s later the sled is still on: the new probed's heartbeat is seen")
    r = c2.request(cmd="disable", pattern="stress:hit", pid=app.pid)
    t.check(r.get("ok") and read_mem_or_none(app.pid, addr, 6) == SITE_OFF, "disable through the new probed")
    c2.close()
    app.send_signal(signal.SIGTERM)
    rc = app.wait(timeout=20)
    errlog.seek(0)
    t.check(rc == 0, f"the app exits 0 ({errlog.read().strip()})")
    time.sleep(0.3)
    d2.stop()
    r = subprocess.run([stress_check, events2, str(app.pid), str(THREADS)], capture_output=True,
                       text=True, timeout=60)
    print(f"# new probed: {r.stdout.splitlines()[0] if r.stdout else '?'}", flush=True)
    t.check(r.returncode == 0, "every event the new probed exported is well-formed and self-consistent"
            + ("" if r.returncode == 0 else ":\n" + r.stdout[-2000:]))
finally:
    stop_app(app)
    if d2:
        d2.stop()
    d.stop()
    if t.failed:
        print(d.log_text()[-2000:])
        if d2:
            print(d2.log_text()[-2000:])
    cleanup_dir(d.dir, t.failed)
    if d2:
        cleanup_dir(d2.dir, t.failed)
t.finish()
