#!/usr/bin/env python3
"""String arguments that cannot be read whole never harm the traced process, in sled mode
and in uprobe mode (bad_string_app: a char * to 0x10, an unterminated 8-byte buffer that
ends at a PROT_NONE page, and a good string).  The app exits 0; the unreadable string is
exported as an empty string listed in "truncated" (both modes alike), the unterminated
one as its 8 readable bytes listed in "truncated", the good one whole.

Strings on stacks come out exact: a buffer in main's frame and one in another thread's
(sled mode copies these by loads), the executable's name at the very top of the main
stack (its window runs past the top: read by the kernel), the stack's last 8 bytes
unterminated below an unmapped page (the readable prefix, truncated), a buffer on a
sigaltstack and one on a coroutine's stack (another stack: read by the kernel).

Usage: sled_bad_strings.py BUILD_DIR   (uprobe mode only as root)
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, probe_counts_settled, read_events  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
app_path = os.path.join(build, "tests", "integration", "bad_string_app")
ROUNDS = 20
EXPECT = {  # site and field name: (its value in round i, listed in "truncated")
    "bad": ("", True),
    "unterminated": ("ABCDEFGH", True),
    "good": ("fine", False),
    "stack": ("stack {i}", False),
    "stacktop": (app_path, False),
    "stackend": ("ZZZZZZZZ", True),
    "altstack": ("alt {i}", False),
    "coroutine": ("coroutine {i}", False),
    "thread": ("thread {i}", False),
}

t = Suite()
modes = ["sled"] + (["uprobe"] if os.geteuid() == 0 else [])
if len(modes) == 1:
    print("# uprobe mode needs root: sled mode only", flush=True)
for mode in modes:
    d = Daemon(probed, probectl)
    app = subprocess.Popen([app_path, str(ROUNDS)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        ready = app.stdout.readline().split()
        pid = int(ready[1])
        t.check(ready[2:] == ["1", "1"],
                f"{mode}: the executable's name lies within a window of the stack's top, "
                f"and the page above the top is unmapped ({ready[2:]})")
        r = d.ctl("enable", "str:*", "-p", str(pid), "--mode", mode)
        probe_id = int(re.search(r"probe (\d+)", r.stdout).group(1))
        app.stdin.write("go\n")
        app.stdin.flush()
        t.check(app.stdout.readline().strip() == "done" and app.wait(timeout=30) == 0,
                f"{mode}: the app survives unreadable strings and exits 0 ({app.returncode})")
        c = probe_counts_settled(d.status, probe_id)
        t.check(c is not None and c["exported"] == len(EXPECT) * ROUNDS and c["dropped"] == 0,
                f"{mode}: every event exported ({c and (c['emitted'], c['exported'], c['dropped'])})")
        events, bad = read_events(d.events_path)
        for name, (value, truncated) in EXPECT.items():
            got = [e for e in events if e.get("pid") == pid and e.get("name") == name]
            ok = len(got) == ROUNDS and all(
                e["args"][name] == value.replace("{i}", str(k))
                and (name in e.get("truncated", [])) == truncated
                and e["args"]["i"] == k for k, e in enumerate(got))
            t.check(ok, f"{mode}: str:{name} exported as {value!r}"
                        f"{' (truncated)' if truncated else ''} ({got[:1]})")
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        d.stop()
t.finish()
