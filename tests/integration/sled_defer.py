#!/usr/bin/env python3
"""The C API of <sled/sled.h>: an app defers the runtime's start, makes itself a user
namespace (possible only while it has one thread), starts the runtime with sled_start(),
is traced in sled mode, sees its probe through sled_enabled(), and sled_stop() puts its
site back.

Usage: sled_defer.py BUILD_DIR
"""
import os
import queue
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (SITE_OFF, Daemon, Suite, is_jmp_site, isolate_dev_shm,  # noqa: E402
                      read_mem, site_addresses, stop_app, wait_until)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
defer_app = os.path.join(build, "tests", "integration", "defer_app")
defer_env_app = os.path.join(build, "tests", "integration", "defer_env_app")


class App:
    """defer_app, driven line by line through its stdin and stdout."""

    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1, env=env)
        self.pid = self.p.pid
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.strip())

    def line(self, timeout=10):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def ask(self, command):
        self.p.stdin.write(command + "\n")
        return self.line()

    def quit(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            return self.p.wait(timeout=10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            stop_app(self.p)
            return None


def start_lines(app):
    return [app.line(), app.line(), app.line()]


t = Suite()
env = dict(os.environ)
env.pop("SLED_DEFER", None)

# --- today's default is unchanged: the agent runs before main, so unshare fails.
app = App([defer_env_app], env)
lines = start_lines(app)
t.check(lines[0] == "threads 2" and lines[1] == "unshare 22",
        f"without a deferral the agent runs before main and unshare fails with EINVAL ({lines})")
t.check(app.quit() == 0, "it exits 0")

# --- SLED_DEFER=1: one thread at main, unshare works, sled_start starts the agent.
app = App([defer_env_app], dict(env, SLED_DEFER="1"))
lines = start_lines(app)
t.check(lines == ["threads 1", "unshare 0", "start 0"],
        f"SLED_DEFER=1: one thread at main, unshare(CLONE_NEWUSER) succeeds, sled_start returns 0 ({lines})")
t.check(app.quit() == 0, "it exits 0")

d = Daemon(probed, probectl)
app = None
try:
    # --- SLED_NO_AUTOSTART in the app: the same, then traced in sled mode.
    app = App([defer_app], env)
    lines = start_lines(app)
    t.check(lines == ["threads 1", "unshare 0", "start 0"],
            f"SLED_NO_AUTOSTART: one thread at main, unshare succeeds, sled_start returns 0 ({lines})")
    t.check(app.ask("enabled") == "enabled 0", "sled_enabled(defer, tick) is 0 before any probe")
    addrs = site_addresses(probectl, app.pid, "defer:tick")
    t.check(len(addrs) == 1, f"defer:tick has one site ({addrs})")
    r = d.ctl("enable", "defer:tick", "-p", str(app.pid), "--mode", "sled", check=False)
    t.check(r.returncode == 0 and "enabled at 1 of 1 site" in r.stdout,
            f"sled-mode enable after sled_start patches the site ({r.stdout.strip()} {r.stderr.strip()})")
    evs, _ = wait_until(lambda: [e for e in d.events() if e["name"] == "tick"
                                 and e["pid"] == app.pid], 10)
    t.check(len(evs) > 0, f"events arrive from the app in sled mode ({len(evs)})")
    t.check(app.ask("enabled") == "enabled 1", "sled_enabled(defer, tick) is 1 while the probe is on")
    d.ctl("disable", "defer:tick", "-p", str(app.pid))
    t.check(app.ask("enabled") == "enabled 0", "sled_enabled(defer, tick) is 0 after disable")

    # --- sled_stop restores the sites the daemon patched and ends the agent.
    d.ctl("enable", "defer:tick", "-p", str(app.pid), "--mode", "sled")
    b = read_mem(app.pid, addrs[0], 6)
    t.check(is_jmp_site(b), f"enabled again: the sled is a jmp ({b.hex()})")
    t.check(app.ask("stop") == "stop 0", "sled_stop returns 0")
    n, _ = wait_until(lambda: len(os.listdir(f"/proc/{app.pid}/task")) == 1, 10)
    t.check(n, "after sled_stop the agent thread exits")
    b = read_mem(app.pid, addrs[0], 6)
    t.check(b == SITE_OFF, f"after sled_stop the site is 90 0f 1f 44 00 00 again ({b.hex()})")
    t.check(app.ask("enabled") == "enabled 0", "sled_enabled is 0 after sled_stop")
    t.check(app.quit() == 0, "the app exits 0")
    app = None
finally:
    if app:
        stop_app(app.p)
    d.stop()
t.finish()
