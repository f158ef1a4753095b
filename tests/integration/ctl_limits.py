#!/usr/bin/env python3
"""The control socket against a hostile local user: probed runs as root with its socket
open to everyone (--socket-mode 0666) and low limits; an unprivileged user (sledtest,
created here) attacks it with ctl_attacker.py.  After each attack probed is alive, its
memory (VmRSS) grew by less than a bound far below what the attack costs without the
limits, root's `probectl status` is answered, the attacker was told no in one line, and
status counts the refusal.

Usage: ctl_limits.py BUILD_DIR
"""
import json
import resource
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, stop_app, wait_until  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
basic = os.path.join(build, "samples", "sample_basic")
USER = "sledtest"
RSS_BOUND = 24 << 20  # every attack below costs probed 40 MB or more without the limits

if os.geteuid() != 0:
    print("SKIP: needs root (probed as root, the attacker as another user)")
    sys.exit(0)
subprocess.run(f"id {USER} >/dev/null 2>&1 || useradd -M -r -s /usr/sbin/nologin {USER}",
               shell=True, check=True)

# The attacker's script where the unprivileged user can read it.
work = tempfile.mkdtemp(prefix="ctl_limits.")
os.chmod(work, 0o755)
attacker = os.path.join(work, "ctl_attacker.py")
shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ctl_attacker.py"), attacker)
os.chmod(attacker, 0o644)

# SLED_OLD_PROBED=1: without these options, to show that a probed without the limits
# (an older build) fails the test.
LIMITS = [] if os.environ.get("SLED_OLD_PROBED") else ["--max-request-bytes", "8192", "--max-clients", "64", "--max-clients-per-uid", "16",
          "--max-probes-per-uid", "20", "--client-buffer", "65536"]

t = Suite()


def as_user(uid=USER):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


class Attack:
    """ctl_attacker.py ATTACK as the unprivileged user: ready() once in place, done()."""

    def __init__(self, sock, *args, uid=USER):
        self.p = subprocess.Popen([*as_user(uid), sys.executable, attacker, args[0], sock,
                                   *map(str, args[1:])], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def line(self, word):
        ln = self.p.stdout.readline()
        if not ln.startswith(word + " "):
            raise RuntimeError(f"attacker said {ln!r} (exit {self.p.poll()})")
        return json.loads(ln[len(word) + 1:])

    def ready(self):
        return self.line("ready")

    def done(self):
        self.p.stdin.close()
        r = self.line("done")
        self.p.wait(timeout=30)
        return r


def rss(d):
    with open(f"/proc/{d.proc.pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) * 1024
    return 0


def cpu_seconds(d):
    with open(f"/proc/{d.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def root_status(d):
    try:
        r = subprocess.run([probectl, "-S", d.socket, "--json", "status"], capture_output=True,
                           text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(r.stdout) if r.returncode == 0 else None


def after_attack(d, name, rss0):
    alive = d.proc.poll() is None
    st = root_status(d) if alive else None
    grew = rss(d) - rss0 if alive else 0
    t.check(alive, f"{name}: probed alive")
    t.check(st is not None, f"{name}: root's probectl status answered")
    t.check(grew < RSS_BOUND, f"{name}: probed's RSS grew by {grew >> 10} KiB (< {RSS_BOUND >> 20} MiB)")
    return st.get("daemon", {}) if st else {}


d = Daemon(probed, probectl, extra=["--socket-mode", "0666", *LIMITS])
os.chmod(d.dir, 0o755)  # the attacker reaches the socket; probed's files stay root's
apps = []
try:
    # 1. A request announcing a 200 MB string: refused at its header.
    rss0 = rss(d)
    a = Attack(d.socket, "big_string", 40 << 20)
    a.ready()
    dm = after_attack(d, "200 MB string", rss0)
    r = a.done()
    t.check("request too large" in r["reply"].get("error", ""),
            f"200 MB string: attacker told '{r['reply'].get('error', r['reply'])}'")
    t.check(dm.get("refused", {}).get("request_too_large", 0) >= 1, "200 MB string: counted in status")

    # 2. An array32 announcing 8 million nils, 2 million sent: refused at its header.
    rss0 = rss(d)
    a = Attack(d.socket, "nil_array", 2 << 20)
    a.ready()
    after_attack(d, "array32 of nils", rss0)
    r = a.done()
    t.check("too many elements" in r["reply"].get("error", ""),
            f"array32 of nils: attacker told '{r['reply'].get('error', r['reply'])}'")

    # 3. 20,000 pipelined requests, never read: probed stops reading that client, serves
    #    root, and the attacker's replies all come once it reads.
    rss0 = rss(d)
    a = Attack(d.socket, "pipeline", 20000, "status")
    a.ready()
    dm = after_attack(d, "pipelined requests never read", rss0)
    # Its replies fill the socket, then --client-buffer: from then on it is not read.
    paused, _ = wait_until(lambda: (root_status(d) or {}).get("daemon", {}).get("paused_clients", 0), 30, 0.1)
    t.check(paused, "pipelined requests: the client is paused (status)")
    r = a.done()
    t.check(r["ok_replies"] == r["requests"],
            f"pipelined requests: every reply came once the client read ({r['ok_replies']}/{r['requests']})")

    # 4. 200 connections from one user: 16 held, the rest refused with one line each.
    rss0 = rss(d)
    a = Attack(d.socket, "connections", 200, 184)
    info = a.ready()
    dm = after_attack(d, "200 connections", rss0)
    t.check(info["refused"] >= 184 and "too many connections from uid" in info["first_refusal"],
            f"200 connections: {info['refused']} refused: '{info['first_refusal']}'")
    t.check(dm.get("refused", {}).get("clients_per_uid", 0) >= 184, "200 connections: counted in status")
    r = subprocess.run([*as_user(), probectl, "-S", d.socket, "status"], capture_output=True,
                       text=True, timeout=30)
    t.check(r.returncode == 1 and r.stderr.startswith("Error: too many connections from uid"),
            f"200 connections: the user's probectl says why: {r.stderr.strip()}")
    a.done()

    # 5. Four users with 16 connections each: over --max-clients 64 less root's 8.
    atts = [Attack(d.socket, "connections", 16, uid=60001 + k) for k in range(4)]
    infos = [x.ready() for x in atts]
    refused = sum(i["refused"] for i in infos)
    after_attack(d, "64 connections from 4 users", rss(d))
    t.check(refused >= 8 and any("too many connections to probed" in i["first_refusal"] for i in infos),
            f"64 connections from 4 users: {refused} refused, root still answered")
    for x in atts:
        x.done()

    # 6. Standing probes: 20 allowed, the rest refused.
    rss0 = rss(d)
    a = Attack(d.socket, "probes", 40)
    a.ready()
    after_attack(d, "40 standing probes", rss0)
    r = a.done()
    t.check(r["ok"] == 20 and any("too many probes for uid" in e for e in r["errors"]),
            f"40 standing probes: {r['ok']} enabled, then '{r['errors'][:1]}'")

    # 7. Malformed requests: every one refused, none a wider probe.
    app = subprocess.Popen([*as_user(), basic, "100000000", "0"], stdout=subprocess.DEVNULL)
    apps.append(app)
    a = Attack(d.socket, "malformed", app.pid)
    a.ready()
    r = a.done()
    for name, rep in sorted(r["replies"].items()):
        t.check(rep.get("ok") is False and rep.get("error"),
                f"malformed {name}: refused: '{rep.get('error', rep)}'")
    t.check("protocol 99" in r["replies"]["version_99"].get("error", "") and
            "probed speaks 2" in r["replies"]["version_99"].get("error", ""),
            "version 99: the error names both versions")
    t.check(r["my_probes"] == 20, f"malformed: no probe added (the user has {r['my_probes']}, "
            "the 20 of the previous attack)")

    # 8. Tail clients that never read, on the user's own busy app.
    for i in range(20):
        subprocess.run([probectl, "-S", d.socket, "disable", f"atk:p{i}"], capture_output=True)
    rss0 = rss(d)
    a = Attack(d.socket, "tails", 12, app.pid)
    a.ready()
    time.sleep(1)  # let the events pile up where the tail clients do not read them
    dm = after_attack(d, "12 tail clients never reading", rss0)
    t.check(dm.get("tail_lost", 0) > 0, f"tail clients: events they lost are counted ({dm.get('tail_lost')})")
    r = a.done()
    t.check(r["enable_ok"] and r["lost_line"].startswith('{"lost":'),
            f"tail client told what it lost: {r['lost_line'][:80]}")
    d.stop()

    # 9. File descriptors run out (a probed with 40 and limits above that): the
    #    connections it cannot take are refused, not left to spin the loop.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (40, hard))
    try:
        d = Daemon(probed, probectl, extra=["--socket-mode", "0666", "--max-clients", "1000",
                                            "--max-clients-per-uid", "1000"]
                   if not os.environ.get("SLED_OLD_PROBED") else ["--socket-mode", "0666"])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    os.chmod(d.dir, 0o755)
    a = Attack(d.socket, "connections", 100)
    info = a.ready()
    cpu0, t0 = cpu_seconds(d), time.monotonic()
    time.sleep(1)  # what probed does meanwhile: sleep (fixed) or spin on accept (not)
    cpu = (cpu_seconds(d) - cpu0) / (time.monotonic() - t0)
    t.check(cpu < 0.5, f"fds exhausted: probed does not spin ({cpu:.0%} of a CPU while 100 "
            "connections wait)")
    t.check("out of file descriptors" in info["first_refusal"],
            f"fds exhausted: the connections over are told '{info['first_refusal']}'")
    a.done()
    after_attack(d, "fds exhausted, then released", rss(d))
finally:
    for p in apps:
        stop_app(p)
    d.stop()
    shutil.rmtree(work, ignore_errors=True)
t.finish()
