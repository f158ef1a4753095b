#!/usr/bin/env python3
"""Backtraces from inside sled mode's event paths reach main through their unwind info
(the per-site stub has none and is skipped):

- the fast path (fast_path.S, a site whose arguments are registers): gdb stops inside
  sled_fast_trampoline_2 (two arguments) at the instruction that counts the hit (so the
  event really took that path), and `bt` walks sled_fast_trampoline_2 -> unwind_inner
  (the site's function, at the instruction after the sled) -> unwind_outer -> main;
- the general path (the app started with SLED_FAST_PATH=0): gdb stops in sled_dispatch
  and `bt` walks sled_dispatch -> sled_trampoline -> unwind_inner -> unwind_outer -> main.

Usage: sled_unwind.py BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "unwind_app")

t = Suite()
if not shutil.which("gdb"):
    print("SKIP: gdb is not installed", flush=True)
    sys.exit(0)


def gdb(pid, *cmds):
    args = ["gdb", "-nx", "-batch", "-p", str(pid)]
    for c in cmds:
        args += ["-ex", c]
    return subprocess.run(args + ["-ex", "detach"], capture_output=True, text=True, timeout=120)


def backtrace(env, where, want):
    app = subprocess.Popen([app_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, **env))
    try:
        pid = int(app.stdout.readline().split()[1])
        d.ctl("enable", "unwind:hit", "-p", str(pid), "--mode", "sled")
        app.stdin.write("go\n")
        app.stdin.flush()
        if where == "fast":
            # The hit counter's increment: reached only by an event the fast path records.
            dis = gdb(pid, "disassemble sled_fast_trampoline_2").stdout
            m = re.search(r"^\s*(0x[0-9a-f]+) <\+\d+>:\s+incq\s", dis, re.M)
            t.check(m is not None, "sled_fast_trampoline_2 has its hit increment")
            if not m:
                print(dis[-3000:])
                return
            where = "*" + m.group(1)
        r = gdb(pid, "break " + where, "continue", "bt")
        frames = re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+)", r.stdout, re.M)
        t.check(frames[:len(want)] == want, f"bt from {want[0]} reaches main: {frames}")
        if frames[:len(want)] != want:
            print(r.stdout[-3000:], r.stderr[-2000:], sep="\n")
    finally:
        app.kill()
        app.wait()


d = Daemon(probed, probectl)
try:
    backtrace({}, "fast", ["sled_fast_trampoline_2", "unwind_inner", "unwind_outer", "main"])
    backtrace({"SLED_FAST_PATH": "0"}, "sled_dispatch",
              ["sled_dispatch", "sled_trampoline", "unwind_inner", "unwind_outer", "main"])
finally:
    d.stop()
t.finish()
