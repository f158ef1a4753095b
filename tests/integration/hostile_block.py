#!/usr/bin/env python3
"""A local user attacks its own shared block while root's process is traced.

The attacker is hostile_app run as the unprivileged user sledtest; root's process is
hostile_app run as root.  A probe with no scope (hostile:tick) covers both.  Whatever the
attack, probed stays alive, root's process keeps exact events (N emitted, the N seqs
exported once each under its pid) and no event appears under the wrong pid.

  truncate  the attacker truncates /dev/shm/sled.<pid> and tries to shrink its block
            (a sealed memfd): it is told no (EPERM/EACCES), probed does not take a SIGBUS
  forge     one attacker forges its header's offsets before probed starts, another after
            it was attached: the first is refused, the second detached, each with a
            logged one-line reason
  squat     the attacker fills /dev/shm with sled.<pid> directories over the next pids:
            root's process started after that is still found and traced in sled mode
  scribble  the attacker writes random bytes over its whole block for 3 s while events
            flow (run under ASan/UBSan in build-asan too)

Usage: hostile_block.py BUILD_DIR ATTACK
"""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (Daemon, Suite, cleanup_dir, isolate_dev_shm, read_events,  # noqa: E402
                      wait_until)

isolate_dev_shm()

build, attack = sys.argv[1], sys.argv[2]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
hostile_app = os.path.join(build, "tests", "integration", "hostile_app")
USER = "sledtest"
AS_USER = ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups"]
N = 1000

subprocess.run(f"id {USER} >/dev/null 2>&1 || useradd -M -r -s /usr/sbin/nologin {USER}",
               shell=True, check=True)


class App:
    """hostile_app speaking its line protocol; who = 0 for root's, 1 for the attacker."""

    def __init__(self, who, hostile):
        argv = (AS_USER if hostile else []) + [hostile_app, str(who)]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.pid = self.p.pid
        first = self.reply(10)
        if not first or not first.startswith("ready"):
            raise RuntimeError(f"hostile_app did not start: {first!r}")

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def reply(self, timeout=20):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        return self.p.stdout.readline().strip() if r else None

    def cmd(self, cmd, timeout=20):
        try:
            self.send(cmd)
        except BrokenPipeError:
            return None
        return self.reply(timeout)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def events_of(d, pid):
    evs, _ = read_events(d.events_path)
    return [e for e in evs if e.get("pid") == pid]


def attached(d, pid):
    return any(p["pid"] == pid and p.get("mode") == "sled" for p in d.status()["processes"])


def exact_events(t, d, app, already, what):
    """app emits N more events: exactly those arrive, each seq once, under app's pid."""
    t.check(app.cmd(f"emit {N}") == f"emitted {N}", f"root's process emitted {N} events ({what})")
    want = already + N
    got, _ = wait_until(lambda: len(events_of(d, app.pid)) >= want, 15)
    evs = events_of(d, app.pid)
    seqs = sorted(e["args"]["seq"] for e in evs)
    t.check(len(evs) == want and seqs == list(range(want)),
            f"root's process has exactly {want} events, seq 0..{want - 1} ({len(evs)}, {what})")
    return want


t = Suite()
apps, squat_dirs = [], []
d = None
try:
    if attack == "squat":
        # Every name a next pid could take, as the attacker's directories.
        with open("/proc/sys/kernel/ns_last_pid") as f:
            last = int(f.read())
        script = ("import os\nfor n in range(%d, %d):\n    try: os.mkdir('/dev/shm/sled.%%d' %% n)\n"
                  "    except FileExistsError: pass\n") % (last + 1, last + 4000)
        subprocess.run(AS_USER + [sys.executable, "-c", script], check=True)
    forged_early = None
    if attack == "forge":
        forged_early = App(1, hostile=True)
        apps.append(forged_early)
        t.check(forged_early.cmd("forge") == "forged", "an attacker forged its header before probed started")
    root = App(0, hostile=False)
    apps.append(root)
    if attack == "squat":
        hint = f"/dev/shm/sled.{root.pid}"
        st = os.stat(hint) if os.path.lexists(hint) else None
        t.check(st is not None and st.st_uid != 0, f"the name {hint} is the attacker's (squatted)")
    attacker = App(1, hostile=True)
    apps.append(attacker)

    d = Daemon(probed, probectl)
    r = d.ctl_json("enable", "hostile:tick", "--pending")
    probe = r.get("id")
    ok, _ = wait_until(lambda: attached(d, root.pid), 10)
    t.check(ok, "root's process is traced in sled mode")
    if attack == "squat":
        r = d.ctl("enable", "hostile:tick", "--mode", "sled", "-p", str(root.pid), check=False)
        t.check(r.returncode == 0, f"enable --mode sled -p on root's process works ({r.stderr.strip()})")
    seen = exact_events(t, d, root, 0, "before the attack")

    if attack == "truncate":
        ans = attacker.cmd("truncate") or ""
        t.check(ans.startswith("truncate") and not ans.endswith("shrunk"),
                f"the attacker cannot shrink its block ({ans!r})")
        time.sleep(0.1)
        t.check(attacker.cmd("emit 10") == "emitted 10", "the attacker goes on")
    elif attack == "forge":
        ok, _ = wait_until(lambda: attached(d, attacker.pid), 10)
        t.check(ok, "the second attacker was attached before it forged")
        t.check(attacker.cmd("forge") == "forged", "the second attacker forged its header")
        gone, _ = wait_until(lambda: not attached(d, attacker.pid), 10)
        t.check(gone, "the forging process is detached")
        log = d.log_text()
        t.check(f"not attached: process {forged_early.pid}'s sled block header disagrees" in log,
                "the early forger is refused with a one-line reason in the log")
        t.check(f"process {attacker.pid} detached: process {attacker.pid}'s sled block header "
                "disagrees" in log, "the late forger is detached with a one-line reason in the log")
        t.check(not attached(d, forged_early.pid), "the early forger is not traced")
    elif attack == "scribble":
        attacker.send("scribble 3000")
        for k in range(3):
            seen = exact_events(t, d, root, seen, f"during the scribbling, round {k + 1}")
        attacker.reply(30)
    elif attack == "squat":
        pass

    seen = exact_events(t, d, root, seen, "after the attack")
    t.check(d.proc.poll() is None, f"probed is alive (exit {d.proc.poll()})")
    evs, bad = read_events(d.events_path)
    t.check(not bad, "every exported line is whole JSON")
    wrong = [e for e in evs if e.get("pid") == root.pid and e["args"].get("who") != 0]
    t.check(not wrong, f"no attacker event under root's pid ({wrong[:2]})")
    st = d.status()
    t.check(any(p["id"] == probe for p in st["probes"]), "probed answers status, the probe stands")
finally:
    for a in apps:
        a.stop()
    if d:
        print("# probed log (tail):\n# " + "\n# ".join(d.log_text().splitlines()[-8:]), flush=True)
        d.stop()
    if attack == "squat":
        subprocess.run("rmdir /dev/shm/sled.* 2>/dev/null", shell=True)
    if d:
        cleanup_dir(d.dir, t.failed > 0)
t.finish()
