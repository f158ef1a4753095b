#!/usr/bin/env python3
"""Backtraces from inside the dispatcher: with unwind:hit enabled in sled mode, gdb stops
in sled_dispatch and its `bt` walks sled_dispatch -> sled_trampoline -> unwind_inner (the
site's function, at the instruction after the sled) -> unwind_outer -> main, through the
trampoline's unwind info (the per-site stub has none and is skipped).

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
d = Daemon(probed, probectl)
app = subprocess.Popen([app_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
try:
    pid = int(app.stdout.readline().split()[1])
    d.ctl("enable", "unwind:hit", "-p", str(pid), "--mode", "sled")
    app.stdin.write("go\n")
    app.stdin.flush()
    r = subprocess.run(["gdb", "-nx", "-batch", "-p", str(pid), "-ex", "break sled_dispatch",
                        "-ex", "continue", "-ex", "bt", "-ex", "detach"],
                       capture_output=True, text=True, timeout=120)
    frames = re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+)", r.stdout, re.M)
    want = ["sled_dispatch", "sled_trampoline", "unwind_inner", "unwind_outer", "main"]
    t.check(frames[:len(want)] == want, f"bt from sled_dispatch reaches main: {frames}")
    if frames[:len(want)] != want:
        print(r.stdout[-3000:], r.stderr[-2000:], sep="\n")
finally:
    app.kill()
    app.wait()
    d.stop()
t.finish()
