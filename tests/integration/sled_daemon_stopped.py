#!/usr/bin/env python3
"""Sled mode when the daemon stalls past the heartbeat timeout: SIGSTOP probed while a
probe is on, until the app's agent restores its sled (3 s without a heartbeat), then
SIGCONT.  The daemon sees the restore and applies its standing probe again: events keep
coming, status shows restores 1 and reapplies 1 for the app (the human table too), and
the log says so.

Usage: sled_daemon_stopped.py BUILD_DIR
"""
import os
import signal
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (block_path, CtlClient, Daemon, Suite, cleanup_dir, isolate_dev_shm,  # noqa: E402
                      start_app, stop_app, wait_until)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress_app = os.path.join(build, "tests", "integration", "stress_app")
RESTORES_OFFSET = 148  # struct sled_shm_header.restores (shm_layout.h)


def block_restores(pid):
    with open(block_path(pid), "rb") as f:
        f.seek(RESTORES_OFFSET)
        return struct.unpack("<I", f.read(4))[0]


def exported(d, probe_id):
    c = d.probe_counts(probe_id)
    return c["exported"] if c else -1


def proc_row(d, pid):
    return next((p for p in d.status()["processes"] if p["pid"] == pid), {})


t = Suite()
d = Daemon(probed, probectl)
app = start_app([stress_app, "1", "100000"])  # stress:hit, a steady trickle
stopped = False
try:
    c = CtlClient(d.socket)
    r = c.request(cmd="enable", pattern="stress:hit", pid=app.pid)
    c.close()
    t.check(r.get("ok") and r["processes"][0]["on"] == 1, f"stress:hit enabled in the app ({r})")
    probe_id = r["id"]
    flowing, _ = wait_until(lambda: exported(d, probe_id) >= 20, 10, 0.1)
    t.check(flowing, "events flow")

    # --- the daemon stops beating until the agent gives up on it.
    d.proc.send_signal(signal.SIGSTOP)
    stopped = True
    restored, waited = wait_until(lambda: block_restores(app.pid) == 1, 10, 0.02)
    t.check(restored, f"the app's agent restores its sleds once the daemon is silent ({waited:.1f} s)")
    d.proc.send_signal(signal.SIGCONT)
    stopped = False

    # --- the daemon notices and applies its probe again.
    back, _ = wait_until(lambda: proc_row(d, app.pid).get("sites_on") == 1, 10, 0.1)
    row = proc_row(d, app.pid)
    t.check(back and row.get("restores") == 1 and row.get("reapplies") == 1,
            f"status: the sled is on again, restores 1, reapplies 1 ({row})")
    start = exported(d, probe_id)
    more, _ = wait_until(lambda: exported(d, probe_id) >= start + 20, 10, 0.1)
    t.check(more, f"events keep coming after the re-apply ({start} -> {exported(d, probe_id)})")
    human = d.ctl("status").stdout
    t.check("REAPPLIES" in human and any(line.split()[:1] == [str(app.pid)] and
                                         line.split()[5:7] == ["1", "1"]
                                         for line in human.splitlines()),
            "probectl status shows RESTORES 1 and REAPPLIES 1 for the app")
    t.check("re-applying" in d.log_text(), "the log says the probes were re-applied")
finally:
    if stopped:
        d.proc.send_signal(signal.SIGCONT)
    stop_app(app)
    d.stop()
    if t.failed:
        print(d.log_text()[-3000:])
    cleanup_dir(d.dir, t.failed)
t.finish()
