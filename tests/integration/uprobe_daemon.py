#!/usr/bin/env python3
"""Uprobe mode through probed and probectl: --mode auto picks it for a process without
libsled, -b covers processes started later, and sled mode and uprobe mode attached to the
same process at once see the same events.

Usage: uprobe_daemon.py BUILD_DIR
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, start_app, stop_app  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
basic = os.path.join(build, "samples", "sample_basic")
header_only = os.path.join(build, "tests", "integration", "header_only_app")

t = Suite()
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()
d = Daemon(probed, probectl)
apps = []


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return fn()


try:
    # --- auto: a process that does not link libsled gets uprobe mode.
    app = start_app([header_only, "100000"], wait_for_block=False)
    apps.append(app)
    time.sleep(0.2)
    r = d.ctl("enable", "app:tick", "-p", str(app.pid))
    t.check(r.returncode == 0 and "uprobe mode" in r.stdout, f"--mode auto on a header-only process: {r.stdout.strip()}")
    evs = wait_for(lambda: [e for e in d.events() if e["name"] == "tick" and e["pid"] == app.pid][:20]
                   if len([e for e in d.events() if e["name"] == "tick"]) >= 20 else None)
    its = [e["args"]["i"] for e in evs]
    t.check(len(its) >= 10 and its == list(range(its[0], its[0] + len(its))),
            f"its events arrive, consecutive, with mode uprobe ({its[:5]}...)")
    t.check(all(e.get("mode") == "uprobe" for e in evs), "events say mode uprobe")
    st = d.status()["probes"]
    t.check(len(st) == 1 and st[0]["mode"] == "uprobe", "status shows the probe's mode")
    fin = d.ctl_json("disable", "app:tick", "-p", str(app.pid))["final"][0]
    t.check(fin["emitted"] > 0 and fin["emitted"] == fin["exported"] + fin["dropped"],
            f"final figures: emitted = exported + dropped ({fin['emitted']}, {fin['exported']}, {fin['dropped']})")
    stop_app(app)

    # --- -p in uprobe mode, and the process exits: its attaches (2 fds per site) are
    # released within a second or two, the probe stays with its final figures.
    def nfds():
        return len(os.listdir(f"/proc/{d.proc.pid}/fd"))

    def settled_fds():
        # Detached uprobes give their fds back in background threads: wait for quiet.
        last, since = nfds(), time.time()
        end = since + 10
        while time.time() - since < 0.5 and time.time() < end:
            time.sleep(0.05)
            if nfds() != last:
                last, since = nfds(), time.time()
        return last

    fds_before = settled_fds()
    app = start_app([header_only, "40"], wait_for_block=False)
    apps.append(app)
    time.sleep(0.2)
    pid_gone = app.pid
    r = d.ctl("enable", "app:tick", "-p", str(app.pid), "--mode", "uprobe")
    t.check(r.returncode == 0 and "uprobe mode" in r.stdout, f"-p --mode uprobe: {r.stdout.strip()}")
    app.wait(timeout=30)
    off = wait_for(lambda: [p for p in d.status()["probes"]
                            if p["pid"] == pid_gone and p["sites"] == 0], 15)
    t.check(off, "its process exited: the probe has no attaches left")
    released = wait_for(lambda: nfds() <= fds_before, 15)
    t.check(released, f"probed's fds back to {fds_before} ({nfds()})")
    got = len([e for e in d.events() if e["name"] == "tick" and e["pid"] == pid_gone])
    st = [p for p in d.status()["probes"] if p["pid"] == pid_gone]
    t.check(len(st) == 1 and st[0]["exported"] == got and got > 0 and st[0]["sites"] == 0,
            f"the probe stays with its final figures: exported {st and st[0]['exported']} = "
            f"{got} events, attaches on {st and st[0]['sites']}")
    d.ctl("disable", "app:tick", "-p", str(pid_gone))
    stop_app(app)

    # --- auto with -b: a binary without libsled gets uprobe mode for all its processes,
    # including ones started later; one that links libsled gets sled mode.
    r = d.ctl("enable", "app:tick", "-b", header_only)
    t.check(r.returncode == 0 and "uprobe mode" in r.stdout,
            f"--mode auto -b on a header-only binary: {r.stdout.strip()}")
    app = start_app([header_only, "30"], wait_for_block=False)
    apps.append(app)
    app.wait(timeout=30)
    evs = wait_for(lambda: [e["args"]["i"] for e in d.events()
                            if e["name"] == "tick" and e["pid"] == app.pid] or None)
    t.check(evs == list(range(30)), f"a process started after enable -b: every hit 0..29 ({evs and len(evs)})")
    fin = d.ctl_json("disable", "app:tick", "-b", header_only)["final"][0]
    t.check(fin["exported"] == 30, f"its probe exported 30 ({fin})")
    r = d.ctl("enable", "sample:request", "-b", basic)
    t.check(r.returncode == 0 and "uprobe mode" not in r.stdout,
            f"--mode auto -b on a binary that links libsled: sled mode ({r.stdout.strip()})")
    d.ctl("disable", "sample:request", "-b", basic)

    # --- -b: every process of the binary, started later; and sled mode on the same
    # process at the same time: both see each hit, with the same values.
    up = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b", basic)["id"]
    app = start_app([basic, "150", "20"])
    apps.append(app)
    time.sleep(0.3)
    sl = d.ctl_json("enable", "sample:request", "-p", str(app.pid), "--mode", "sled")["id"]
    app.wait(timeout=30)
    time.sleep(0.3)
    ev_all = [e for e in d.events() if e["name"] == "request" and e["pid"] == app.pid]
    by_mode = {"uprobe": {}, "sled": {}}
    for e in ev_all:
        by_mode[e.get("mode", "sled")][e["args"]["id"]] = e
    ups, sls = by_mode["uprobe"], by_mode["sled"]
    t.check(sorted(ups) == list(range(1, 151)),
            f"uprobe -b, attached before the process started: every hit 1..150 ({len(ups)})")
    t.check(all(e["args"]["twice"] == 2 * i and e["args"]["name"] == f"req-{i}"
                and e["args"]["latency"] == 1.5 * i for i, e in ups.items()), "uprobe values are exact")
    t.check(len(sls) > 100 and sorted(sls) == list(range(min(sls), 151)),
            f"sled mode from its enable to the end: {len(sls)} events")
    same = all(ups[i]["args"] == sls[i]["args"] and ups[i]["tid"] == sls[i]["tid"] for i in sls)
    t.check(same, "for every hit both modes saw, the fields and values are identical")
    for pid in (up, sl):
        d.ctl("disable", str(pid), check=False)
    stop_app(app)

    # --- errors
    # No scope: every process, with uprobes (tests/integration/uprobe_auto_all.py).
    r = d.ctl("enable", "sample:request", "--mode", "uprobe", "--pending", check=False)
    t.check(r.returncode == 0 and "enabled in uprobe mode in" in r.stdout and "started later" in r.stdout,
            f"--mode uprobe with no scope: every process ({r.stdout.strip()})")
    d.ctl("disable", "sample:request")
    r = d.ctl("enable", "sample:request", "--mode", "uprobe", "-b", basic, "--filter", "idd > 1", check=False)
    t.check(r.returncode == 1 and "filter: unknown field 'idd'" in r.stderr,
            f"a bad filter is refused as in sled mode ({r.stderr.strip()})")
    r = d.ctl("enable", "nosuch:x", "--mode", "uprobe", "-b", basic, check=False)
    t.check(r.returncode == 1 and "no tracepoint matches" in r.stderr, f"nothing to attach ({r.stderr.strip()})")
finally:
    for a in apps:
        stop_app(a)
    d.stop()
    if t.failed:
        print(d.log_text())
t.finish()
