#!/usr/bin/env python3
"""The hostile client of ctl_limits.py, run as an unprivileged user against probed's
control socket (opened with --socket-mode 0666).  One attack per run:

    ctl_attacker.py ATTACK SOCKET [ARG...]

It prints one line "ready {json}" once the attack is in place (connections held,
requests sent, buffers filled), waits for a line on stdin (or its end), then prints
"done {json}" with what probed answered, and exits, closing everything."""
import json
import os
import select
import socket
import sys
import time

import msgpack

VERSION = 2


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def read_reply(s, timeout=10):
    """The first reply map on s, or {"closed": True} if probed closed without one."""
    s.settimeout(timeout)
    up = msgpack.Unpacker(raw=False)
    while True:
        for m in up:
            return m
        try:
            data = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        except socket.timeout:
            return {"timeout": True}
        if not data:
            return {"closed": True}
        up.feed(data)


def request(path, **req):
    s = connect(path)
    try:
        s.sendall(msgpack.packb(req, use_bin_type=True))
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = read_reply(s)
    s.close()
    return r


def send_then_read(s, data, chunk=1 << 16):
    """Send data in chunks until probed stops taking it; then its reply, if any."""
    sent = 0
    try:
        while sent < len(data):
            sent += s.send(data[sent:sent + chunk])
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent, read_reply(s)


def ready(info=None):
    print("ready " + json.dumps(info or {}), flush=True)
    sys.stdin.readline()


def done(info):
    print("done " + json.dumps(info), flush=True)


def big_string(path, total):
    """A str32 announcing 200 MB, then `total` bytes of it."""
    s = connect(path)
    data = b"\x83" + msgpack.packb("cmd") + msgpack.packb("status") + msgpack.packb("pattern") \
        + b"\xdb" + (200 << 20).to_bytes(4, "big") + b"a" * total
    sent, r = send_then_read(s, data)
    ready({"sent": sent})
    done({"sent": sent, "reply": r})


def nil_array(path, n):
    """An array32 announcing 4n nils, then n of them: the request stays unfinished."""
    s = connect(path)
    data = b"\x82" + msgpack.packb("cmd") + msgpack.packb("status") + msgpack.packb("x") \
        + b"\xdd" + (4 * n).to_bytes(4, "big") + b"\xc0" * n
    sent, r = send_then_read(s, data)
    ready({"sent": sent})
    done({"sent": sent, "reply": r})


def pipeline(path, n, cmd):
    """n requests at once, never reading a reply (until told to finish)."""
    s = connect(path)
    s.setblocking(False)
    data = msgpack.packb({"cmd": cmd}) * n
    sent, t0 = 0, time.time()
    while sent < len(data) and time.time() - t0 < 5:
        try:
            sent += s.send(data[sent:])
        except BlockingIOError:
            time.sleep(0.01)
    ready({"sent": sent, "total": len(data)})
    # Then read everything: the replies come, in order, none lost.
    s.setblocking(True)
    s.settimeout(10)
    up, got = msgpack.Unpacker(raw=False), 0
    want = sent // len(msgpack.packb({"cmd": cmd}))
    while got < want:
        try:
            data = s.recv(1 << 16)
        except (socket.timeout, ConnectionResetError):
            break
        if not data:
            break
        up.feed(data)
        for m in up:
            got += 1 if m.get("ok") else 0
    done({"requests": want, "ok_replies": got})


def connections(path, n, expect=-1):
    """n connections held open; what probed said to each that it refused.  Waits for
    `expect` refusals (-1: until none has come for a second)."""
    held, errors = [], []
    for _ in range(n):
        try:
            s = connect(path)
        except OSError as e:
            errors.append("connect: " + str(e))
            continue
        held.append(s)
    refused, t0, last = {}, time.time(), time.time()
    while time.time() - t0 < 30:
        if expect >= 0 and len(refused) >= expect:
            break
        if expect < 0 and time.time() - last > 1:
            break
        pending = [s for s in held if s not in refused]
        ready_socks = select.select(pending, [], [], 0.2)[0] if pending else []
        for s in ready_socks:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            up = msgpack.Unpacker(raw=False)
            up.feed(data)
            refused[s] = next(iter(up), {}).get("error", "") if data else "closed"
            last = time.time()
    msgs = list(refused.values())
    ready({"held": len(held), "refused": len(msgs), "errors": errors[:3],
           "first_refusal": msgs[0] if msgs else ""})
    for s in held:
        s.close()
    done({"refused": len(msgs), "messages": sorted(set(msgs))})


def probes(path, n):
    """n standing probes, each its own pattern (no scope, sled mode: no uprobes)."""
    replies = [request(path, cmd="enable", pattern=f"atk:p{i}", mode="sled", pending=True, version=VERSION)
               for i in range(n)]
    ok = sum(1 for r in replies if r.get("ok"))
    errors = sorted({r.get("error", "") for r in replies if not r.get("ok")})
    ready({"ok": ok})
    done({"ok": ok, "errors": errors})


def tails(path, n, app_pid):
    """A probe on our own busy app, and n tail clients that never read; at the end one
    of them reads what it has."""
    r = request(path, cmd="enable", pattern="sample:request", pid=int(app_pid))
    held = []
    for _ in range(n):
        s = connect(path)
        s.sendall(msgpack.packb({"cmd": "tail", "format": "json", "pattern": "sample:*"}))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        held.append(s)
    ready({"enable": r})
    # Read one client's stream now: it lost events, and says how many.
    s = held[0]
    s.settimeout(2)
    data = b""
    try:
        while b'"lost"' not in data and len(data) < (64 << 20):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    lost = [ln for ln in data.split(b"\n") if b'"lost"' in ln]
    for s in held:
        s.close()
    done({"enable_ok": bool(r.get("ok")), "lost_line": lost[0].decode() if lost else ""})


def malformed(path, own_pid):
    """Requests whose fields are too long or of the wrong type: each must be refused."""
    own = int(own_pid)
    cases = {
        "long_pattern": dict(cmd="enable", pattern="a" * 311, pid=own),
        "long_binary": dict(cmd="enable", pattern="x:y", binary="/" + "b" * 4200),
        "string_pid": dict(cmd="enable", pattern="x:y", pid=str(own)),
        "zero_pid": dict(cmd="enable", pattern="x:y", pid=0),
        "empty_binary": dict(cmd="enable", pattern="x:y", binary=""),
        "no_pattern": dict(cmd="enable", pid=own),
        "bad_mode_type": dict(cmd="enable", pattern="x:y", mode=1),
        "string_sample": dict(cmd="enable", pattern="x:y", sample="3"),
        "string_rate": dict(cmd="enable", pattern="x:y", rate="10"),
        "string_count_only": dict(cmd="enable", pattern="x:y", count_only="yes"),
        "long_filter": dict(cmd="enable", pattern="x:y", filter="a" * 600),
        "unknown_field": dict(cmd="enable", pattern="x:y", pids=[1, 2]),
        "string_disable_id": dict(cmd="disable", id="1"),
        "long_tail_pattern": dict(cmd="tail", pattern="t" * 300),
        "version_99": dict(cmd="status", version=99),
    }
    out = {k: request(path, **v) for k, v in cases.items()}
    st = request(path, cmd="status")
    ready()
    done({"replies": out, "my_probes": len(st.get("probes", []))})


if __name__ == "__main__":
    attack, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    {"big_string": lambda: big_string(path, int(args[0])),
     "nil_array": lambda: nil_array(path, int(args[0])),
     "pipeline": lambda: pipeline(path, int(args[0]), args[1]),
     "connections": lambda: connections(path, *map(int, args)),
     "probes": lambda: probes(path, int(args[0])),
     "tails": lambda: tails(path, int(args[0]), args[1]),
     "malformed": lambda: malformed(path, args[0])}[attack]()
