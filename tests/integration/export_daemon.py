#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""probed's network outputs from a config file, with a real traced app:

- `probed -c FILE` starts with the file's outputs and its standing enable;
- a msgpack+tcp receiver (python3-msgpack) gets exactly the events the JSON-lines file
  gets, field for field;
- a receiver that accepts and never reads does not hold anything up: the app runs all its
  iterations, the other outputs get every event, and that output's dropped count rises,
  with sent + queued + dropped = events (the app runs until that output has dropped
  events, however slowly the machine goes; its last error is either legitimate reason:
  the queue was full, or a send timed out);
- `probectl status` shows each output's state, counters and last error;
- bad config files fail at start-up with FILE:LINE and the reason.

usage: export_daemon.py BUILD_DIR
"""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_streams import Receiver, wait_for  # noqa: E402
from sledtest import Daemon, Suite, isolate_dev_shm, wait_until  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress = os.path.join(build, "tests", "integration", "stress_app")

t = Suite()
tmp = tempfile.mkdtemp(prefix="sled-export-daemon-")

# --- bad config files: one line, FILE:LINE, exit 2, no daemon left behind.
for text, want in (
        ("output\n", ":1: 'output' takes one SPEC"),
        ("# c\n\nenable sample:request --rate 0\n", ":3: bad --rate '0' (N/s, N >= 1)"),
        ("socket \"/tmp/x\n", ":1: unterminated quote"),
        ("frob 1\n", ":1: unknown directive 'frob'"),
        ("output carrier-pigeon:coop\n", "unknown output 'carrier-pigeon:coop'"),
        ("output forward://127.0.0.1:24224?gzp=1\n", "unknown option 'gzp'"),
        ("enable sample:request --mode teleport\n", ":1: unknown mode 'teleport'")):
    path = os.path.join(tmp, "bad.conf")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([probed, "-S", os.path.join(tmp, "bad.sock"), "-c", path],
                       capture_output=True, text=True, timeout=10)
    lines = r.stderr.strip().splitlines()
    t.check(r.returncode == 2 and len(lines) == 1 and want in lines[0],
            f"bad config refused: {lines[0] if lines else '(nothing)'}")

rx = Receiver("msgpack")
stalled = Receiver("msgpack", read=False)
conf = os.path.join(tmp, "probed.conf")
with open(conf, "w") as f:
    f.write(f"""# outputs and a standing probe, as a service would start
output msgpack+tcp://{rx.addr}
output "msgpack+tcp://{stalled.addr}?queue=500&batch=100&timeout_ms=200"
enable 'stress:hit' --pending  # every process, now and later
""")

d = Daemon(probed, probectl, extra=["-c", conf])
try:
    st = d.status()
    t.check(len(st["probes"]) == 1 and st["probes"][0]["pattern"] == "stress:hit",
            "the config's enable is a standing probe")
    specs = [o["spec"] for o in st["outputs"]]
    t.check(len(specs) == 3 and specs[1].startswith("msgpack+tcp://"),
            f"outputs from -o and the file: {specs}")

    # One thread, 64 events per ms: the rings and the reading receiver keep up, the
    # stalled receiver's queue cannot.  The app runs until that output has dropped events
    # (synchronised on its counter, not on a time window: a busy machine runs it slower).
    app = subprocess.Popen([stress, "1", "1000"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)

    def stalled_dropped():
        return any(stalled.addr in o["spec"] and o["dropped"] > 0 for o in d.status()["outputs"])
    _, waited = wait_until(stalled_dropped, 120, interval=0.1)
    print(f"# the stalled output dropped events after {waited:.1f} s", flush=True)
    app.terminate()
    _, err = app.communicate(timeout=30)
    t.check(app.returncode == 0, f"the app ran while one receiver never reads: {err.strip()}")
    pid = st["probes"][0]["id"]
    c = d.wait_drained(pid, timeout=30)
    t.check(c["emitted"] == c["exported"] + c["dropped"],
            f"probe: emitted {c['emitted']} = exported {c['exported']} + dropped {c['dropped']}")
    events = [e for e in d.events() if e["name"] == "hit"]
    wait_for(lambda: len(rx.events) >= len(events), 20)
    t.check(len(events) == c["exported"] and len(rx.events) == len(events),
            f"jsonl file {len(events)}, msgpack+tcp receiver {len(rx.events)}, exported {c['exported']}")
    same = all(a["pid"] == b["pid"] and a["tid"] == b["tid"] and a["args"] == b["args"] and
               a["ts"] == b["ts"].to_unix_nano()
               for a, b in zip(events, rx.events))
    t.check(same, "the receiver's events equal the file's, field for field")

    outs = {o["spec"]: o for o in d.status()["outputs"]}
    good = [o for s, o in outs.items() if rx.addr in s][0]
    bad = [o for s, o in outs.items() if stalled.addr in s][0]
    t.check(good["state"] == "connected" and good["sent"] == len(events) and good["dropped"] == 0,
            f"reading receiver: {good}")
    t.check(bad["dropped"] > 0 and bad["sent"] + bad["queued"] + bad["dropped"] == len(events),
            f"receiver that never reads: sent {bad['sent']} + queued {bad['queued']} + "
            f"dropped {bad['dropped']} = {len(events)}; error '{bad['error']}'")
    # Either drop reason is legitimate: the queue filled, or a send to the receiver timed
    # out (the batch stays queued while probed reconnects); the last one is shown.
    reasons = ("queue full", "receiver not reading")
    t.check(any(bad["error"].startswith(w) or w in bad["error"] for w in reasons),
            f"the stalled output's last error names a drop reason: '{bad['error']}'")
    r = d.ctl("status")
    t.check("STATE" in r.stdout and "QUEUED" in r.stdout and any(w in r.stdout for w in reasons),
            "probectl status shows state, queue and the last error per output")
finally:
    d.stop()
    rx.close()
    stalled.close()
t.finish()
