#!/usr/bin/env python3
"""probed under a service manager (systemd Type=notify): READY=1 arrives on
$NOTIFY_SOCKET, a path or an abstract '@' name, only once the control socket answers;
without NOTIFY_SOCKET nothing changes, and a bad one is one warning line, not a failure.

Usage: sd_notify.py PROBED"""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import sledtest  # noqa: E402

sledtest.isolate_dev_shm()  # this probed must not attach other tests' processes
probed = sys.argv[1]
suite = sledtest.Suite()
tmp = tempfile.mkdtemp(prefix="sled-notify.")


def start(notify, ctl_name):
    ctl = os.path.join(tmp, ctl_name)
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    if notify is not None:
        env["NOTIFY_SOCKET"] = notify
    log = open(os.path.join(tmp, ctl_name + ".log"), "w+")
    proc = subprocess.Popen([probed, "-S", ctl, "-o", "jsonl:/dev/null"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, ctl, log


def stop(proc, log):
    proc.terminate()
    rc = proc.wait(timeout=20)
    log.seek(0)
    return rc, log.read()


def receive_ready(receiver, proc, ctl, what):
    receiver.settimeout(20)
    try:
        msg = receiver.recv(4096)
    except socket.timeout:
        msg = b""
    # Checked the moment the datagram arrives: the socket must already answer.
    answers = sledtest.socket_answers(ctl)
    suite.check(msg == b"READY=1", f"{what}: READY=1 arrives (got {msg!r})")
    suite.check(answers, f"{what}: the control socket answers when READY=1 arrives")
    suite.check(proc.poll() is None, f"{what}: probed keeps running after notifying")


# A path socket, as systemd uses (/run/systemd/notify).
path = os.path.join(tmp, "notify")
rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rx.bind(path)
proc, ctl, log = start(path, "a.sock")
receive_ready(rx, proc, ctl, "path socket")
rc, out = stop(proc, log)
suite.check(rc == 0, f"path socket: probed exits 0 on SIGTERM (rc {rc}, log {out!r})")
rx.settimeout(0.2)
try:
    extra = rx.recv(4096)
except socket.timeout:
    extra = None
suite.check(extra is None, f"READY=1 is sent once (then got {extra!r})")
rx.close()

# An abstract socket: '@' stands for the leading NUL byte.
name = f"sled-notify-test-{os.getpid()}"
rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rx.bind("\0" + name)
proc, ctl, log = start("@" + name, "b.sock")
receive_ready(rx, proc, ctl, "abstract socket")
rc, out = stop(proc, log)
suite.check(rc == 0, f"abstract socket: probed exits 0 (rc {rc})")
rx.close()

# No service manager: no notification and no complaint.
proc, ctl, log = start(None, "c.sock")
ok = sledtest.wait_until(lambda: sledtest.socket_answers(ctl), 20)[0]
rc, out = stop(proc, log)
suite.check(ok and rc == 0 and out == "", f"without NOTIFY_SOCKET probed runs quietly ({out!r})")

# A NOTIFY_SOCKET nobody listens on: one line on stderr, probed still serves.
proc, ctl, log = start(os.path.join(tmp, "nobody"), "d.sock")
ok = sledtest.wait_until(lambda: sledtest.socket_answers(ctl), 20)[0]
rc, out = stop(proc, log)
suite.check(ok and rc == 0, "an unreachable NOTIFY_SOCKET does not stop probed")
suite.check(out.count("\n") == 1 and "notify" in out, f"and says so in one line ({out!r})")

proc, ctl, log = start("relative/name", "e.sock")
ok = sledtest.wait_until(lambda: sledtest.socket_answers(ctl), 20)[0]
rc, out = stop(proc, log)
suite.check(ok and "NOTIFY_SOCKET 'relative/name'" in out, f"a malformed NOTIFY_SOCKET is named ({out!r})")

sledtest.cleanup_dir(tmp, suite.failed)
suite.finish()
