#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The socket outputs (msgpack+tcp, msgpack+unix, jsonl+tcp, jsonl+unix) against receivers
written here with python3-msgpack and json, and their queue's accounting when the receiver
is down, never reads, or restarts:

- every event arrives with the values the driver wrote (msgpack_python.compare);
- a receiver that is down: nothing sent, everything counted as dropped, no hang;
- a receiver that accepts and never reads: the writer is not blocked, sent + dropped = N;
- a receiver restarted mid-stream: the output reconnects by itself and the events after
  the restart arrive; received <= sent and sent + dropped = N.

usage: export_streams.py ENCODE_DRIVER
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from msgpack_python import compare  # noqa: E402
from sledtest import Suite  # noqa: E402


class Receiver:
    """Accepts connections one after the other and decodes everything they send."""

    def __init__(self, fmt, family=socket.AF_INET, path=None, read=True, port=0):
        self.fmt, self.read = fmt, read
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if not read:
            # A small window (inherited by accepted sockets): the sender's queue, not the
            # kernel's buffers, is what fills up.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        if family == socket.AF_INET:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", port))
            self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        else:
            self.sock.bind(path)
            self.addr = path
        self.sock.listen(4)
        self.events, self.connections, self.errors = [], 0, []
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.conns.append(c)
            if not self.read:
                continue  # accept and never read: the sender's buffers fill up
            self.serve(c)

    def serve(self, c):
        if self.fmt == "msgpack":
            u = msgpack.Unpacker(raw=False, strict_map_key=False)
        pending = b""
        while True:
            try:
                data = c.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            if self.fmt == "msgpack":
                u.feed(data)
                self.events.extend(u)
            else:
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self.events.append(json.loads(line))
        c.close()

    def close(self):
        self.stop = True
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv
                c.close()
            except OSError:
                pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def run_driver(driver, n, spec, timeout=60):
    p = subprocess.run([driver, "write", str(n), spec], capture_output=True, text=True,
                       timeout=timeout)
    m = re.search(r"written (\d+) acked (\d+) dropped (\d+)", p.stderr)
    if not m:
        return p, None
    return p, tuple(int(x) for x in m.groups())


def check_events(t, what, events, n, fmt):
    bad = [(i, e) for i, e in enumerate(events) if compare(i, e, fmt)]
    t.check(len(events) == n and not bad,
            "%s: %d/%d events equal what was written%s" % (
                what, len(events), n,
                "" if not bad else "; first bad #%d: %s" % (bad[0][0], compare(bad[0][0], bad[0][1], fmt))))


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def main():
    driver = sys.argv[1]
    t = Suite()
    tmp = tempfile.mkdtemp(prefix="sled-streams-")
    n = 20000

    # Every event, in order, over each kind of socket.
    for fmt, kind in (("msgpack", "tcp"), ("msgpack", "unix"), ("json", "tcp"), ("json", "unix")):
        path = os.path.join(tmp, "%s.sock" % fmt)
        rx = Receiver(fmt, socket.AF_UNIX if kind == "unix" else socket.AF_INET, path)
        scheme = ("msgpack" if fmt == "msgpack" else "jsonl") + "+" + kind
        spec = "%s://%s" % (scheme, rx.addr) if kind == "tcp" else "%s:%s" % (scheme, rx.addr)
        p, st = run_driver(driver, n, spec)
        t.check(p.returncode == 0 and st == (n, 0, 0),
                "%s: exit %d, written/acked/dropped %s" % (spec, p.returncode, st))
        wait_for(lambda: len(rx.events) >= n, 10)
        check_events(t, spec, rx.events, n, fmt)
        rx.close()
        if kind == "unix":
            os.unlink(path)

    # Receiver down: the writer does not hang, every event is counted as dropped.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t0 = time.time()
    p, st = run_driver(driver, n, "msgpack+tcp://127.0.0.1:%d" % port)
    t.check(p.returncode == 1 and st == (0, 0, n),
            "receiver down: written/acked/dropped %s (exit %d, %.1f s incl. 2 s linger)" % (
                st, p.returncode, time.time() - t0))

    # Receiver that accepts and never reads: a small queue fills, the rest is dropped,
    # and the writer finishes (it is never blocked by the receiver).
    rx = Receiver("msgpack", read=False)
    big = 400000
    p, st = run_driver(driver, big, "msgpack+tcp://%s?queue=10000&timeout_ms=300" % rx.addr)
    t.check(st is not None and st[0] + st[2] == big and st[2] > 0,
            "receiver never reads: sent %s + dropped %s = %d written" % (
                st and st[0], st and st[2], big))
    rx.close()

    # Receiver restarted mid-stream: the output reconnects without help.
    rx = Receiver("msgpack")
    host, port = rx.addr.split(":")
    # --hold keeps the output live until stdin closes: the reconnect is checked while the
    # output runs normally, not raced against the 2 s linger of its shutdown.
    feeder = subprocess.Popen(
        [driver, "write", "--hold", "3000000", "msgpack+tcp://%s?queue=2000000" % rx.addr],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(rx.events) > 1000, 30)
    first = len(rx.events)
    rx.close()
    time.sleep(0.3)
    rx2 = Receiver("msgpack", port=int(port))
    wait_for(lambda: rx2.connections and len(rx2.events) > 0, 30)
    _, err = feeder.communicate(input="", timeout=120)
    m = re.search(r"written (\d+) acked (\d+) dropped (\d+)", err)
    sent, _, dropped = (int(x) for x in m.groups()) if m else (0, 0, 0)
    time.sleep(0.5)
    got = first + len(rx2.events)
    t.check(m is not None and sent + dropped == 3000000 and rx2.connections >= 1 and
            len(rx2.events) > 0 and got <= sent + 4096,
            "receiver restarted: reconnected (%d connection(s) after), received %d + %d, "
            "sent %d, dropped %d" % (rx2.connections, first, len(rx2.events), sent, dropped))
    # A reconnect starts at an event boundary: every event after it decodes whole.
    ok = all(isinstance(e, dict) and "provider" in e for e in rx2.events)
    t.check(ok, "events after the reconnect all decode as whole events")
    rx2.close()
    t.finish()


if __name__ == "__main__":
    main()
