#!/usr/bin/env python3
"""Sled mode end to end, against a real probed and real multi-threaded processes.

Usage: sled_mode.py BUILD_DIR
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (SITE_OFF, Daemon, Suite, isolate_dev_shm, read_mem,  # noqa: E402
                      site_addresses, start_app, stop_app)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
workers = os.path.join(build, "samples", "sample_workers")
basic = os.path.join(build, "samples", "sample_basic")
dlopen_app = os.path.join(build, "samples", "sample_dlopen")
header_only = os.path.join(build, "tests", "integration", "header_only_app")

t = Suite()
d = Daemon(probed, probectl)
apps = []
try:
    # --- enable on a live multi-threaded process: every event carries exact values.
    app = start_app([workers, "4", "1000000", "1"])
    apps.append(app)
    addrs = site_addresses(probectl, app.pid, "sample:work")
    t.check(len(addrs) == 1, f"sample:work has one site ({addrs})")
    with open(f"/proc/{app.pid}/exe", "rb") as f:
        exe_bytes = f.read()
    r = d.ctl("enable", "sample:work", "-p", str(app.pid))
    t.check("enabled at 1 of 1 site" in r.stdout, f"enable reports the site patched: {r.stdout.strip()}")
    patched = read_mem(app.pid, addrs[0], 6)
    t.check(patched[0] == 0x90 and patched[1] == 0xE9,
            f"the sled is a jmp while enabled ({patched.hex()})")
    time.sleep(1.0)
    r = d.ctl("disable", "sample:work", "-p", str(app.pid))
    t.check(r.returncode == 0, "disable succeeds")
    restored = read_mem(app.pid, addrs[0], 6)
    t.check(restored == SITE_OFF, f"after disable the site bytes are 90 0f 1f 44 00 00 again ({restored.hex()})")
    st = d.status()
    t.check(st["probes"] == [], "status lists no probe after disable")
    evs = [e for e in d.events() if e["name"] == "work" and e["pid"] == app.pid]
    t.check(len(evs) > 100, f"events were exported while enabled ({len(evs)})")
    bad = [e for e in evs if e["args"]["square"] != e["args"]["iteration"] ** 2
           or not 0 <= e["args"]["thread_index"] < 4 or e["provider"] != "sample"]
    t.check(not bad, f"every event has square == iteration^2 and a valid thread index ({len(bad)} bad)")
    tids = {}
    for e in evs:
        tids.setdefault(e["args"]["thread_index"], set()).add(e["tid"])
    t.check(len(tids) == 4 and all(len(v) == 1 for v in tids.values()),
            f"each worker thread has its own tid ({tids})")
    per_thread_ok = True
    for idx in tids:
        its = [e["args"]["iteration"] for e in evs if e["args"]["thread_index"] == idx]
        per_thread_ok &= its == sorted(its) and len(set(its)) == len(its)
    t.check(per_thread_ok, "per thread, iterations arrive in order without duplicates")
    ts = [e["ts"] for e in evs]
    now_ns = time.time_ns()
    t.check(all(now_ns - 60e9 < x <= now_ns for x in ts), "timestamps are realtime nanoseconds of the last minute")
    n_before = len(d.events())
    time.sleep(0.5)
    t.check(len(d.events()) == n_before, "no event after disable")
    stop_app(app)

    # --- emitted = exported + dropped, per probe, over a process's whole life: a standing
    # probe catches the process at start, two threads in tight loops overflow their rings,
    # the process exits, and every event is accounted for.
    probe_id = d.ctl_json("enable", "sample:work", "--pending")["id"]
    app = start_app([workers, "2", "3000000", "0", "500"])
    apps.append(app)
    app.wait(timeout=60)
    c = d.wait_drained(probe_id)
    t.check(c is not None and c["emitted"] > 0 and c["emitted"] == c["exported"] + c["dropped"],
            f"status: emitted == exported + dropped after the process exits ({c})")
    t.check(c is not None and c["dropped"] > 0 and c["emitted"] <= 6000000,
            "tight loops fill the rings: drops are counted, never more events than iterations")
    d.ctl("disable", str(probe_id))

    # --- the guard: TRACEPOINT_ENABLED jumps to its body only while enabled.
    app = start_app([basic, "100000", "5"])
    apps.append(app)
    r = d.ctl_json("enable", "sample:debug", "-p", str(app.pid))
    t.check(r["processes"][0]["sites"] == 2, f"sample:debug enables its site and its guard ({r['processes']})")
    time.sleep(0.5)
    dbg = [e for e in d.events() if e["name"] == "debug" and e["pid"] == app.pid]
    t.check(len(dbg) > 10, f"guarded tracepoint fires while enabled ({len(dbg)} events)")
    d.ctl("disable", str(r["id"]))

    # --- tail shows live events, JSON and human.
    tail = subprocess.Popen([probectl, "-S", d.socket, "tail", "--json", "sample:request"],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    req_id = d.ctl_json("enable", "sample:request", "-p", str(app.pid))["id"]
    line = tail.stdout.readline()
    ev = json.loads(line)
    t.check(ev["name"] == "request" and ev["args"]["twice"] == 2 * ev["args"]["id"]
            and ev["args"]["name"] == f"req-{ev['args']['id']}",
            f"tail --json streams events with exact values ({line.strip()})")
    tail.kill()
    tail.wait()
    tail = subprocess.Popen([probectl, "-S", d.socket, "tail", "sample:request"],
                            stdout=subprocess.PIPE, text=True)
    line = tail.stdout.readline()
    t.check("sample:request" in line and "twice=" in line and 'name="req-' in line,
            f"tail prints human-readable lines ({line.strip()})")
    tail.kill()
    tail.wait()

    # --- list shows each tracepoint's state while the daemon runs.
    r = d.ctl("list", "-p", str(app.pid), "sample:*")
    rows = {l.split()[1]: l for l in r.stdout.splitlines()[1:]}
    t.check("on" in rows.get("sample:request", "").split() and "off" in rows.get("sample:tick", "").split(),
            f"list shows request on and tick off:\n{r.stdout}")
    d.ctl("disable", str(req_id))
    stop_app(app)

    # --- bad enables: clear one-line errors.
    plain = start_app([header_only, "100000"], wait_for_block=False)
    apps.append(plain)
    time.sleep(0.1)
    r = d.ctl("enable", "app:*", "-p", str(plain.pid), "--mode", "sled", check=False)
    t.check(r.returncode == 1 and "does not link libsled" in r.stderr and r.stderr.count("\n") == 1,
            f"--mode sled on a header-only process says it does not link libsled ({r.stderr.strip()})")
    stop_app(plain)
    app = start_app([basic, "100000", "5"])
    apps.append(app)
    r = d.ctl("enable", "nosuch:thing", "-p", str(app.pid), check=False)
    t.check(r.returncode == 1 and "no sled tracepoint matches" in r.stderr,
            f"enable of a pattern matching nothing fails ({r.stderr.strip()})")
    r = d.ctl("enable", "sample:request", "-p", "4194000", check=False)
    t.check(r.returncode == 1 and "no such process" in r.stderr, f"enable on a missing pid fails ({r.stderr.strip()})")
    r = d.ctl("disable", "77", check=False)
    t.check(r.returncode == 1 and "no probe with id 77" in r.stderr, f"disable of an unknown id fails ({r.stderr.strip()})")
    stop_app(app)

    # --- a standing probe reaches processes started later, and libraries dlopen'd later.
    r = d.ctl_json("enable", "plugin:handle", "--pending")
    glob_id = r["id"]
    late = start_app([dlopen_app, "0", "20"])
    apps.append(late)
    deadline = time.time() + 5
    got = []
    while time.time() < deadline and not got:
        got = [e for e in d.events() if e["name"] == "handle" and e["pid"] == late.pid]
        time.sleep(0.1)
    t.check(bool(got), "a process started after enable (its library dlopen'd after attach) is traced")
    if got:
        t.check(got[0]["args"]["label"] != "" and isinstance(got[0]["args"]["value"], int),
                f"plugin:handle events carry value and label ({got[0]['args']})")
    d.ctl("disable", str(glob_id))
    stop_app(late)

    # --- exec: the same pid, a new image with a new runtime, is picked up again; an image
    # without libsled is let go.
    exec_app = os.path.join(build, "tests", "integration", "exec_app")
    probe_id = d.ctl_json("enable", "execapp:tick", "--pending")["id"]
    app = start_app([exec_app, "40", exec_app, "40", "/bin/sleep", "5"])
    apps.append(app)
    deadline = time.time() + 15
    gens = set()
    while time.time() < deadline and gens != {1, 2}:
        gens = {e["args"]["generation"] for e in d.events()
                if e["name"] == "tick" and e["pid"] == app.pid and e["args"]["pid"] == app.pid}
        time.sleep(0.1)
    t.check(gens == {1, 2}, f"events from both exec'd images of one pid ({sorted(gens)})")
    deadline = time.time() + 5
    while time.time() < deadline and any(p["pid"] == app.pid for p in d.status()["processes"]):
        time.sleep(0.2)
    t.check(not any(p["pid"] == app.pid for p in d.status()["processes"]),
            "after exec into a program without libsled the process is detached")
    d.ctl("disable", str(probe_id))
    stop_app(app)
finally:
    for a in apps:
        stop_app(a)
    d.stop()
    if t.failed:
        print(d.log_text())
t.finish()
