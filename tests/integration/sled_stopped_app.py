#!/usr/bin/env python3
"""Enable and disable never make the daemon wait on an app: SIGSTOP one libsled app (A)
and disable a probe on it, so the hand-over waits for A's agent (which cannot answer) up
to its timeout; meanwhile a second client enables a probe on another app (B).  B's
enable is answered while A's disable still waits, and the daemon keeps beating all
along: B's agent never restores its sleds (its probe keeps exporting, status: restores
0), and A, once continued, neither (its other probe exports again).

Usage: sled_stopped_app.py BUILD_DIR
"""
import os
import select
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
sample_workers = os.path.join(build, "samples", "sample_workers")
CMD_SEQ_OFFSET = 152   # struct sled_shm_header.cmd.seq (shm_layout.h)
RESTORES_OFFSET = 148  # struct sled_shm_header.restores


def block_u32(pid, offset):
    with open(block_path(pid), "rb") as f:
        f.seek(offset)
        return struct.unpack("<I", f.read(4))[0]


def exported(d, probe_id):
    c = d.probe_counts(probe_id)
    return c["exported"] if c else -1


def proc_row(d, pid):
    return next((p for p in d.status()["processes"] if p["pid"] == pid), {})


def read_reply(client):
    """The reply to a request already sent on client (CtlClient)."""
    while True:
        for msg in client.unpacker:
            return msg
        data = client.sock.recv(65536)
        if not data:
            return None
        client.unpacker.feed(data)


def flows(d, probe_id, more=20):
    """Events of the probe keep coming: its exported count grows by `more`."""
    start = exported(d, probe_id)
    ok, _ = wait_until(lambda: exported(d, probe_id) >= start + more, 10, 0.1)
    return ok


t = Suite()
d = Daemon(probed, probectl)
a = start_app([sample_workers, "1", "100000000", "1"])  # sample:work every ms, sample:phase
b = start_app([stress_app, "1", "100000"])               # stress:hit, a steady trickle
stopped = False
try:
    ca, cb = CtlClient(d.socket), CtlClient(d.socket)
    r1 = ca.request(cmd="enable", pattern="sample:work", pid=a.pid)
    r2 = ca.request(cmd="enable", pattern="sample:phase", pid=a.pid)
    r3 = cb.request(cmd="enable", pattern="stress:hit", pid=b.pid)
    t.check(all(r.get("ok") and r["processes"][0]["on"] >= 1 for r in (r1, r2, r3)),
            f"probes on A (sample:work, sample:phase) and B (stress:hit) ({r1}, {r2}, {r3})")
    id_work, id_phase, id_hit = r1["id"], r2["id"], r3["id"]
    t.check(flows(d, id_work) and flows(d, id_hit), "events flow from A and B")

    # --- A stopped: its agent cannot answer the disable's commands.
    os.kill(a.pid, signal.SIGSTOP)
    stopped = True
    seq = block_u32(a.pid, CMD_SEQ_OFFSET)
    ca.sock.sendall(ca._msgpack.packb({"cmd": "disable", "id": id_phase}, use_bin_type=True))
    # The daemon has posted the disable's first command to A's agent: from here the
    # disable waits on A.
    posted, _ = wait_until(lambda: block_u32(a.pid, CMD_SEQ_OFFSET) != seq, 10, 0.005)
    t.check(posted, "the disable on A posts its command to A's (stopped) agent")
    r4 = cb.request(cmd="enable", pattern="stress:hit", pid=b.pid, sample=2)
    disable_waits = not select.select([ca.sock], [], [], 0)[0]
    t.check(r4.get("ok") and r4["processes"][0]["on"] == 1,
            f"B's enable, from another client, is answered ({r4})")
    t.check(disable_waits, "B's enable is answered while A's disable still waits for A's agent")
    r5 = read_reply(ca)  # the disable sent above
    t.check(r5 is not None and r5.get("ok") and r5.get("disabled") == [id_phase],
            f"A's disable is answered once A's agent timed out ({r5})")

    # --- the daemon kept beating: B's sled stayed on, its events keep coming.
    row = proc_row(d, b.pid)
    t.check(row.get("restores") == 0 and row.get("sites_on") == 1,
            f"B's agent never restored its sled (status: {row})")
    t.check(flows(d, id_hit), "B's events keep coming")
    os.kill(a.pid, signal.SIGCONT)
    stopped = False
    t.check(flows(d, id_work), "A, continued, exports again: its sample:work sled is on")
    row = proc_row(d, a.pid)
    t.check(row.get("restores") == 0 and block_u32(a.pid, RESTORES_OFFSET) == 0,
            f"A's agent never restored its sleds either (status: {row})")
    ca.close()
    cb.close()
finally:
    if stopped:
        os.kill(a.pid, signal.SIGCONT)
    stop_app(a)
    stop_app(b)
    d.stop()
    if t.failed:
        print(d.log_text()[-3000:])
    cleanup_dir(d.dir, t.failed)
t.finish()
