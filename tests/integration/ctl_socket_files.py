#!/usr/bin/env python3
"""probed's own files against symlinks planted by another user:
- the control socket's mode is set before bind, never by a chmod of the path (which
  follows a symlink swapped in after bind: bind_swap_shim.so plays that attacker);
- an output file that is a symlink is refused with a one-line error (O_NOFOLLOW).

Usage: ctl_socket_files.py BUILD_DIR SHIM_SO
"""
import os
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Suite, isolate_dev_shm  # noqa: E402

isolate_dev_shm()

build, shim = sys.argv[1], sys.argv[2]
probed = os.path.join(build, "probed", "probed")
t = Suite()
work = tempfile.mkdtemp(prefix="ctl_socket_files.")


def start(args, env=None):
    log = open(os.path.join(work, "probed.log"), "w+")
    p = subprocess.Popen([probed, "-v", *args], stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, **(env or {})))
    return p, log


def wait_log(p, log, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None:
        log.seek(0)
        if text in log.read():
            return True
        time.sleep(0.02)
    return False


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(timeout=10)


# 1. The socket's mode is what --socket-mode says, set before bind.
sock = os.path.join(work, "a.sock")
p, log = start(["-S", sock, "--socket-mode", "0660"])
t.check(wait_log(p, log, "listening on"), "probed listens")
t.check(stat.S_IMODE(os.lstat(sock).st_mode) == 0o660, "socket created with mode 0660")
stop(p)

# 2. The socket file swapped for a symlink right after bind: the target keeps its mode.
victim = os.path.join(work, "victim")
with open(victim, "w") as f:
    f.write("secret\n")
os.chmod(victim, 0o600)
sock = os.path.join(work, "b.sock")
p, log = start(["-S", sock, "--socket-mode", "0666"],
               {"LD_PRELOAD": shim, "SLED_TEST_SWAP_TARGET": victim,
                # a sanitizer build's runtime then is not first: let it run anyway
                "ASAN_OPTIONS": "verify_asan_link_order=0"})
t.check(wait_log(p, log, "listening on") and os.path.islink(sock),
        "the socket path was swapped for a symlink after bind")
mode = stat.S_IMODE(os.stat(victim).st_mode)
t.check(mode == 0o600, f"the symlink's target keeps mode 0600 (has {mode:04o})")
stop(p)

# 3. An output file that is a symlink: refused, the target untouched.
link = os.path.join(work, "events.jsonl")
os.symlink(victim, link)
p = subprocess.Popen([probed, "-S", os.path.join(work, "c.sock"), "-o", "jsonl:" + link],
                     stderr=subprocess.PIPE, text=True)
try:
    err = p.communicate(timeout=20)[1]
except subprocess.TimeoutExpired:  # it started: the symlink was followed
    p.kill()
    err = p.communicate()[1]
t.check(p.returncode == 2 and "symbolic link" in err and err.count("\n") == 1,
        f"output symlink refused: exit {p.returncode}: {err.strip()}")
with open(victim) as f:
    t.check(f.read() == "secret\n", "the symlink's target is untouched")

# 4. A daemon of another control-protocol version: probectl names both versions.
import socket  # noqa: E402
import threading  # noqa: E402

old = os.path.join(work, "old.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(old)
srv.listen(1)


def old_daemon():
    c, _ = srv.accept()
    c.recv(4096)
    c.sendall(b"\x81\xa2ok\xc3")  # {"ok": true}: protocol 1 had no "version"
    c.close()


th = threading.Thread(target=old_daemon)
th.start()
r = subprocess.run([os.path.join(build, "probed", "probectl"), "-S", old, "status"],
                   capture_output=True, text=True, timeout=20)
th.join()
srv.close()
t.check(r.returncode == 1 and "probed speaks control protocol 1, this probectl speaks 2"
        in r.stderr and r.stderr.count("\n") == 1, f"old daemon: {r.stderr.strip()}")

subprocess.run(["rm", "-rf", work])
t.finish()
