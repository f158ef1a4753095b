#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The Fluent Forward output against an independent receiver: the FluentServer of the npm
package @fluent-org/logger (fluent_server.js), which decodes every message, answers acks
and does the shared-key handshake.

  1. Known events (encode_driver, see msgpack_python.py) in every mode we send: plain,
     ack, gzip, gzip+ack, shared key, shared key + user, a unix socket, a custom tag.
     Each record must equal its event (values, types, EventTime seconds and nanoseconds),
     with the configured tag and the message options of its mode.
     The same over TLS (forward+tls://, FluentServer's tlsOptions, a test CA made here
     by the openssl command): by name, with gzip, ack and the shared key, and with a
     client certificate to a receiver that requires one.
  2. A wrong shared key: probed reports the receiver's refusal in its status and
     delivers nothing.  Over TLS, the wrong CA, the wrong host name and a missing client
     certificate: each reason in status, and the receiver decodes nothing.
  3. probed and a real traced process, with ack on: the receiver dies twice mid-stream
     (a crash between storing a chunk and acknowledging it, then a SIGKILL) and is
     restarted; every event probed exported (its JSON-lines output, the reference) must
     arrive, the unacknowledged chunk again, duplicates only as at-least-once allows
     (counted and printed), and the output's status counters must agree.

usage: forward_fluent.py BUILD_DIR
Runs with /usr/bin/python3 (python3-msgpack).  Skips (exit 0, "SKIP: ...") when node or
the npm package is missing: scripts/test.sh installs it (ensure_npm_fluent).
"""
import base64
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sledtest import (Daemon, Suite, isolate_dev_shm, start_app, stop_app,  # noqa: E402
                      wait_until)
from tls_certs import make_test_ca  # noqa: E402

NODE_MODULES = os.environ.get("SLED_NODE_MODULES", "/var/cache/sled-test/node/node_modules")
SERVER_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fluent_server.js")


def skip_unless_receiver():
    node = shutil.which("node")
    if not node:
        print("SKIP: node is not installed (apt-get install nodejs)")
        sys.exit(0)
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    r = subprocess.run([node, "-e", "require('@fluent-org/logger')"], env=env,
                       capture_output=True, timeout=30)
    if r.returncode != 0:
        print("SKIP: npm package @fluent-org/logger not found in %s "
              "(scripts/test.sh installs it: ensure_npm_fluent)" % NODE_MODULES)
        sys.exit(0)
    return node


try:
    import msgpack
except ImportError:
    sys.exit("Error: no msgpack module for %s (apt-get install python3-msgpack)" % sys.executable)

if len(sys.argv) != 2:
    sys.exit(__doc__)
NODE = skip_unless_receiver()
isolate_dev_shm()

from msgpack_python import expected_event, compare  # noqa: E402

BUILD = sys.argv[1]
DRIVER = os.path.join(BUILD, "tests", "integration", "encode_driver")
PROBED = os.path.join(BUILD, "probed", "probed")
PROBECTL = os.path.join(BUILD, "probed", "probectl")
WORKERS = os.path.join(BUILD, "samples", "sample_workers")
SAMPLE_BASIC = os.path.join(BUILD, "samples", "sample_basic")
SHARED_KEY = "s3cret-key"


class Receiver:
    """fluent_server.js on a TCP port of 127.0.0.1 (0: any free one) or a unix socket,
    appending what it decodes to a file; restartable on the same address."""

    def __init__(self, tmp, name, port=0, unix=None, shared_key=None, users=(),
                 crash_after=0, tls=None, tls_client_ca=None):
        self.out = os.path.join(tmp, name + ".jsonl")
        self.log = os.path.join(tmp, name + ".log")
        self.port, self.unix = port, unix
        self.extra = []
        if shared_key is not None:
            self.extra += ["--shared-key", shared_key]
        for u in users:
            self.extra += ["--user", u]
        if crash_after:
            self.extra += ["--crash-after", str(crash_after)]
        if tls:
            self.extra += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if tls_client_ca:
            self.extra += ["--tls-client-ca", tls_client_ca]
        self.proc = None
        self.start()

    def start(self):
        where = ["--unix", self.unix] if self.unix else ["--port", str(self.port)]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [NODE, SERVER_JS, self.out, *where, *self.extra], stdout=subprocess.PIPE,
                stderr=log, env=dict(os.environ, NODE_PATH=NODE_MODULES), text=True)
        line = self.proc.stdout.readline()  # "listening PORT": blocks until it is up
        if not line.startswith("listening "):
            raise RuntimeError("fluent_server.js did not start: " + open(self.log).read())
        if not self.unix:
            self.port = int(line.split()[1])

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def lines(self):
        out = []
        try:
            with open(self.out) as f:
                for line in f:
                    if line.endswith("\n"):
                        out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return out

    def entries(self):
        return [x for x in self.lines() if "record" in x]

    def messages(self):
        return [x for x in self.lines() if "entries" in x]


def expected_tag(template, provider, name):
    return template.replace("{provider}", provider).replace("{name}", name)


def event_time(ts):
    """EventTime of a nanosecond timestamp: 32-bit seconds (modulo 2^32 past 2106)."""
    return {"sec": (ts // 10**9) % (1 << 32), "nsec": ts % 10**9}


def node_value_ok(got, kind, want):
    """A value as FluentServer (JavaScript) decoded it: integers are doubles there, so
    past 2^53 they compare as doubles; NaN and infinities come as {"$num": ...}."""
    if kind == "int":
        return type(got) in (int, float) and (got == want if abs(want) <= 1 << 53
                                              else float(got) == float(want))
    if kind == "bool":
        return got is want
    if kind == "str":
        from msgpack_python import text
        return got == text(want)
    if math.isnan(want):
        return got == {"$num": "NaN"}
    if math.isinf(want):
        return got == {"$num": "Infinity" if want > 0 else "-Infinity"}
    return type(got) in (int, float) and float(got) == want


def check_node_record(i, rec):
    """Differences between FluentServer's decoding of entry i and event i."""
    head, fields = expected_event(i)
    want_keys = [k for k in head if k != "ts"] + ["args"]
    trunc = [n for n, kind, v in fields if kind == "str" and v[0] is not None and v[1]]
    if trunc:
        want_keys.append("truncated")
    errs = []
    if list(rec) != want_keys:
        errs.append("keys %r, expected %r" % (list(rec), want_keys))
    for k in head:
        if k != "ts" and rec.get(k) != head[k]:
            errs.append("%s %r, expected %r" % (k, rec.get(k), head[k]))
    args = rec.get("args", {})
    for name, kind, want in fields:
        if not node_value_ok(args.get(name), kind, want):
            errs.append("args.%s %r, expected %r" % (name, args.get(name), want))
    if rec.get("truncated", []) != trunc:
        errs.append("truncated %r" % (rec.get("truncated"),))
    return errs


def raw_entries(messages):
    """The entries of every message decoded again from their bytes by python3-msgpack:
    (EventTime ext type, its 8 bytes, record with exact msgpack types), in order."""
    out = []
    for m in messages:
        up = msgpack.Unpacker(raw=False, strict_map_key=True, timestamp=0)
        up.feed(base64.b64decode(m["entries"]))
        for e in up:
            out.append(e)
    return out


def check_driver_run(t, what, rx, spec, n, tag, ack, gzip):
    """encode_driver writes events 0..n-1 to spec; rx must have them all, once each."""
    p = subprocess.run([DRIVER, "write", str(n), spec], capture_output=True, text=True,
                       timeout=60)
    t.check(p.returncode == 0 and ("acked %d" % n if ack else "written %d" % n) in p.stderr,
            "%s: the driver's output sent every event (%s)" % (what, p.stderr.strip()))
    # without ack the driver is done once the bytes are in the socket: give the receiver
    # time to read them
    wait_until(lambda: len(rx.entries()) >= n, 20, 0.05)
    got = rx.entries()
    msgs = rx.messages()
    t.check(len(got) == n, "%s: the receiver decoded %d entries (%d)" % (what, n, len(got)))
    by_pid = {}
    for e in got:
        by_pid.setdefault(e["record"].get("pid"), []).append(e)
    missing = [i for i in range(n) if 1000 + i not in by_pid]
    t.check(not missing, "%s: every event arrived (missing %s)" % (what, missing[:10]))
    errs = []
    for i in range(n):
        for e in by_pid.get(1000 + i, [])[:1]:
            head = expected_event(i)[0]
            want_tag = expected_tag(tag, head["provider"], head["name"])
            if e["tag"] != want_tag:
                errs.append("event %d: tag %r, expected %r" % (i, e["tag"], want_tag))
            if e["time"] != event_time(head["ts"]):
                errs.append("event %d: time %r, expected EventTime %r" % (
                    i, e["time"], event_time(head["ts"])))
            errs += ["event %d: %s" % (i, x) for x in check_node_record(i, e["record"])]
    t.check(not errs, "%s: records, tags and EventTimes equal the events as FluentServer "
            "decoded them (%d differences%s)" % (what, len(errs), ": " + errs[0] if errs else ""))

    # The same entries, decoded from the bytes the receiver got by python3-msgpack: exact
    # types (ints, float 32/64, str, nil), EventTime as ext type 0 with 8 bytes.
    errs = []
    raws = raw_entries(msgs)
    for e in raws:
        if not (isinstance(e, list) and len(e) == 2 and isinstance(e[0], msgpack.ExtType)
                and e[0].code == 0 and len(e[0].data) == 8 and isinstance(e[1], dict)):
            errs.append("entry is not [EventTime, record]: %r" % (e,))
            continue
        rec = dict(e[1])
        i = rec.get("pid", 0) - 1000
        if not 0 <= i < n:
            errs.append("unknown pid %r" % rec.get("pid"))
            continue
        want_ts = expected_event(i)[0]["ts"]
        sec, nsec = int.from_bytes(e[0].data[:4], "big"), int.from_bytes(e[0].data[4:], "big")
        if {"sec": sec, "nsec": nsec} != event_time(want_ts):
            errs.append("event %d: EventTime bytes %s" % (i, e[0].data.hex()))
        # compare() checks the map of sled_encode_msgpack, whose "ts" is what EventTime
        # carries: put it back where that map has it
        full = {}
        for k, v in rec.items():
            full[k] = v
            if k == "name":
                full["ts"] = msgpack.Timestamp.from_unix_nano(want_ts)
        errs += ["event %d: %s" % (i, x) for x in compare(i, full, "msgpack")]
    t.check(len(raws) == n and not errs,
            "%s: python3-msgpack decodes the received bytes to the exact events (%d entries, "
            "%d differences%s)" % (what, len(raws), len(errs), ": " + errs[0] if errs else ""))

    # Message options: size, chunk (ack only: unique 128-bit ids), compressed (gzip only).
    errs = []
    chunks = []
    for m in msgs:
        o = m["option"]
        count = sum(1 for e in got if e["message"] == m["message"])
        if o.get("size") != count:
            errs.append("size %r for %d entries" % (o.get("size"), count))
        if ack:
            c = o.get("chunk")
            if not isinstance(c, str) or len(base64.b64decode(c)) != 16:
                errs.append("chunk %r" % (c,))
            chunks.append(c)
        elif "chunk" in o:
            errs.append("a chunk id without ack=1")
        if (o.get("compressed") == "gzip") != gzip:
            errs.append("compressed %r" % (o.get("compressed"),))
        if set(o) - {"size", "chunk", "compressed"}:
            errs.append("options %r" % (o,))
    if len(set(chunks)) != len(chunks):
        errs.append("chunk ids repeat")
    t.check(msgs and not errs, "%s: %d PackedForward messages with the options of the mode%s"
            % (what, len(msgs), ": " + "; ".join(errs[:3]) if errs else ""))


def output_status(d, prefix):
    for o in d.status().get("outputs", []):
        if o["spec"].startswith(prefix):
            return o
    return None


def modes(t, tmp):
    n = 600
    cases = [
        # (name, receiver kwargs, spec options, tag template, ack, gzip)
        ("plain", {}, "", "sled.{provider}.{name}", False, False),
        ("ack", {}, "?ack=1", "sled.{provider}.{name}", True, False),
        ("gzip", {}, "?gzip=1", "sled.{provider}.{name}", False, True),
        ("gzip+ack", {}, "?gzip=1&ack=1&batch=50", "sled.{provider}.{name}", True, True),
        ("shared key", {"shared_key": SHARED_KEY},
         "?ack=1&shared_key=%s&hostname=sled-test-client" % SHARED_KEY,
         "sled.{provider}.{name}", True, False),
        ("shared key + user", {"shared_key": SHARED_KEY, "users": ["alice:pa55"]},
         "?ack=1&shared_key=%s&username=alice&password=pa55" % SHARED_KEY,
         "sled.{provider}.{name}", True, False),
        ("custom tag", {}, "?ack=1&tag=trace-{name}.from.{provider}",
         "trace-{name}.from.{provider}", True, False),
    ]
    for k, (name, kw, opts, tag, ack, gzip) in enumerate(cases):
        rx = Receiver(tmp, "modes%d" % k, **kw)
        try:
            check_driver_run(t, name, rx, "forward://127.0.0.1:%d%s" % (rx.port, opts), n, tag,
                             ack, gzip)
        finally:
            rx.kill(signal.SIGTERM)
    certs = make_test_ca(tmp)
    server = (certs["receiver.pem"], certs["receiver.key"])
    tls_cases = [
        ("tls", {"tls": server}, "?ca=%s" % certs["ca.pem"], False, False),
        ("tls + gzip + ack + shared key", {"tls": server, "shared_key": SHARED_KEY},
         "?ca=%s&gzip=1&ack=1&shared_key=%s" % (certs["ca.pem"], SHARED_KEY), True, True),
        ("tls + client certificate", {"tls": server, "tls_client_ca": certs["ca.pem"]},
         "?ca=%s&cert=%s&key=%s&ack=1" % (certs["ca.pem"], certs["client.pem"],
                                          certs["client.key"]), True, False),
    ]
    for k, (name, kw, opts, ack, gzip) in enumerate(tls_cases):
        rx = Receiver(tmp, "tls%d" % k, **kw)
        try:
            check_driver_run(t, name, rx, "forward+tls://localhost:%d%s" % (rx.port, opts), n,
                             "sled.{provider}.{name}", ack, gzip)
        finally:
            rx.kill(signal.SIGTERM)
    path = os.path.join(tmp, "fluent.sock")
    rx = Receiver(tmp, "unix", unix=path)
    try:
        check_driver_run(t, "unix socket", rx, "forward+unix:%s?ack=1&gzip=1" % path, n,
                         "sled.{provider}.{name}", True, True)
    finally:
        rx.kill(signal.SIGTERM)


def refused(t, tmp):
    """A wrong shared key, a missing one: the receiver's refusal is in probed's status."""
    rx = Receiver(tmp, "refused", shared_key=SHARED_KEY)
    base = "forward://127.0.0.1:%d?ack=1" % rx.port
    wrong_spec = base + "&shared_key=wrong&hostname=c1"
    none_spec = base + "&timeout_ms=3000"
    d = None

    def failing(spec):
        # status shows secret option values as *** (sled_output_spec)
        o = output_status(d, re.sub(r"(shared_key|password)=[^&]*", r"\1=***", spec))
        return o if o and o["error"] else None

    try:
        d = Daemon(PROBED, PROBECTL, extra=["-o", wrong_spec, "-o", none_spec])
        wrong, _ = wait_until(lambda: failing(wrong_spec), 20, 0.1)
        none, _ = wait_until(lambda: failing(none_spec), 20, 0.1)
        t.check(bool(wrong) and "shared key mismatch" in wrong["error"] and
                wrong["state"] != "connected",
                "a wrong shared key: the output reports the receiver's refusal (%r)"
                % ((wrong and (wrong["state"], wrong["error"])),))
        t.check(bool(none) and "shared_key" in none["error"],
                "no shared key for a receiver that wants one: the output says so (%r)"
                % ((none and (none["state"], none["error"])),))
        t.check(rx.entries() == [], "nothing was delivered without a good handshake")
    finally:
        if d:
            d.stop()
            t.check(d.proc.returncode == 0, "probed exits cleanly on SIGTERM (%s)"
                    % d.proc.returncode)
        rx.kill(signal.SIGTERM)


def refused_tls(t, tmp):
    """The wrong CA, the wrong host name, no client certificate: probed's status says
    why and the receivers decode nothing, while the right CA delivers."""
    os.makedirs(os.path.join(tmp, "refused-ca"))
    certs = make_test_ca(os.path.join(tmp, "refused-ca"))
    server = (certs["receiver.pem"], certs["receiver.key"])
    rx = Receiver(tmp, "tls-refused", tls=server)
    rx_client = Receiver(tmp, "tls-refused-client", tls=server, tls_client_ca=certs["ca.pem"])
    outs = {
        "good": "forward+tls://127.0.0.1:%d?ca=%s&tag=good" % (rx.port, certs["ca.pem"]),
        "wrong-ca": "forward+tls://127.0.0.1:%d?ca=%s&tag=wrong-ca"
                    % (rx.port, certs["other-ca.pem"]),
        "wrong-name": "forward+tls://localhost:%d?ca=%s&server_name=elsewhere.example"
                      "&tag=wrong-name" % (rx.port, certs["ca.pem"]),
        "no-client-cert": "forward+tls://127.0.0.1:%d?ca=%s&ack=1&tag=no-client-cert"
                          % (rx_client.port, certs["ca.pem"]),
    }
    want = {
        "wrong-ca": "forward+tls: TLS handshake with 127.0.0.1:%d: certificate verify "
                    "failed: unable to get local issuer certificate" % rx.port,
        "wrong-name": "forward+tls: TLS handshake with localhost:%d: certificate verify "
                      "failed: hostname mismatch for elsewhere.example" % rx.port,
        # TLS 1.3: the receiver refuses us after our side of the handshake is over
        "no-client-cert": "forward+tls: TLS handshake with 127.0.0.1:%d: TLS error: "
                          "error:0A00045C:SSL routines::tlsv13 alert certificate required"
                          % rx_client.port,
    }
    extra = []
    for spec in outs.values():
        extra += ["-o", spec]
    d = Daemon(PROBED, PROBECTL, extra=extra)
    try:
        probe_id = d.ctl_json("enable", "sample:request", "--pending")["id"]
        app = subprocess.Popen([SAMPLE_BASIC, "40", "1"], stdout=subprocess.DEVNULL)
        app.wait(timeout=60)
        c = d.wait_drained(probe_id) or {}
        exported = c.get("exported", 0)

        def settled():
            st = {k: output_status(d, spec) for k, spec in outs.items()}
            ok = st["good"] and st["good"]["sent"] == exported and all(
                st[k] and w in st[k]["error"] for k, w in want.items())
            return st if ok else None
        st, _ = wait_until(settled, 20, 0.2)
        st = st or {k: output_status(d, spec) for k, spec in outs.items()}
        for k, o in st.items():
            print("# %-15s state %s sent %s queued %s error %r" % (
                k, o and o["state"], o and o["sent"], o and o["queued"], o and o["error"]))
        t.check(exported > 20 and st["good"] and st["good"]["sent"] == exported,
                "tls, the right CA: the %d events probed exported were sent" % exported)
        for k, w in want.items():
            o = st[k]
            t.check(o and o["sent"] == 0 and w in o["error"],
                    "tls, %s: nothing sent, status says %r" % (k, o and o["error"]))
        wait_until(lambda: len(rx.entries()) >= exported, 10, 0.1)
        tags = {e["tag"] for e in rx.entries() + rx_client.entries()}
        t.check(tags == {"good"} and len(rx.entries()) == exported,
                "the receivers decoded only the right CA's events (tags %s, %d entries)"
                % (sorted(tags), len(rx.entries())))
    finally:
        d.stop()
        rx.kill(signal.SIGTERM)
        rx_client.kill(signal.SIGTERM)


def restart(t, tmp):
    """ack=1 across two receiver deaths mid-stream: a crash after it stored a chunk and
    before it acknowledged it (that chunk must come again), then a SIGKILL from outside;
    each time it is restarted on the same port a second later."""
    batch = 200
    rx = Receiver(tmp, "restart", crash_after=1000)
    spec = "forward://127.0.0.1:%d?ack=1&batch=%d" % (rx.port, batch)
    d = Daemon(PROBED, PROBECTL, extra=["-o", spec])
    app = None
    failed = True

    def status():
        return output_status(d, "forward:") or {}

    def wait_down(what):
        down, _ = wait_until(lambda: status().get("state") in ("down", "connecting"), 15, 0.05)
        t.check(down, "%s: the output notices the receiver is gone (%s)" % (what, status()))
        time.sleep(1.0)  # events keep coming while nobody listens: they queue
        return status().get("queued", 0)

    try:
        app = start_app([WORKERS, "2", "4000", "1"])
        probe_id = d.ctl_json("enable", "sample:work", "-p", str(app.pid))["id"]

        # 1. the receiver crashes once it logged 1000 entries, before acknowledging
        crashed, _ = wait_until(lambda: rx.proc.poll() is not None, 30)
        t.check(crashed, "the receiver crashed after 1000 entries (%d)" % len(rx.entries()))
        msgs = rx.messages()
        unacked = [e for e in rx.entries() if msgs and e["message"] == msgs[-1]["message"]]
        unacked_keys = {(e["record"]["tid"], e["record"]["args"]["iteration"]) for e in unacked}
        queued1 = wait_down("crash before the ack")
        rx.extra = []  # no more crashes
        rx.start()

        # 2. SIGKILL from outside, mid-stream
        n0 = len(rx.entries())
        got, _ = wait_until(lambda: len(rx.entries()) >= n0 + 1000, 30)
        t.check(got, "events flow again after the restart (%d)" % (len(rx.entries()) - n0))
        rx.kill(signal.SIGKILL)
        queued2 = wait_down("SIGKILL")
        rx.start()

        app.wait(timeout=60)
        c = d.wait_drained(probe_id, timeout=20)
        d.ctl("disable", str(probe_id))
        done, _ = wait_until(lambda: (lambda o: o if o.get("queued") == 0 and
                                      o.get("state") == "connected" else None)(status()), 30, 0.2)
        ref = [e for e in d.events() if e["name"] == "work"]
        recv = [e for e in rx.entries() if e["record"]["name"] == "work"]
        counts = {}
        for e in recv:
            k = (e["record"]["tid"], e["record"]["args"]["iteration"])
            counts[k] = counts.get(k, 0) + 1
        ref_keys = {(e["tid"], e["args"]["iteration"]): e for e in ref}
        lost = [k for k in ref_keys if k not in counts]
        dups = sum(v - 1 for v in counts.values())
        extra = [k for k in counts if k not in ref_keys]
        print("# restart: %d events exported, %d entries received, %d duplicates, %d lost; "
              "queued while down: %d, %d; the chunk unacknowledged at the crash: %d events"
              % (len(ref), len(recv), dups, len(lost), queued1, queued2, len(unacked_keys)),
              flush=True)
        t.check(c is not None and c["emitted"] > 2000 and c["dropped"] == 0,
                "probe figures: every emitted event exported, none dropped (%s)" % (c,))
        t.check(len(ref_keys) == len(ref) == (c or {}).get("exported"),
                "the JSON-lines reference holds each exported event once (%d)" % len(ref))
        t.check(not lost, "no event lost across the receiver's deaths (%d lost: %s)"
                % (len(lost), lost[:5]))
        t.check(not extra, "nothing arrived that was not exported (%d)" % len(extra))
        t.check(unacked_keys and all(counts.get(k, 0) >= 2 for k in unacked_keys),
                "the chunk stored but not acknowledged at the crash was sent again (%d events)"
                % len(unacked_keys))
        # at-least-once: only batches in flight at a death may come twice
        t.check(dups <= 2 * batch, "duplicates stay within the batches in flight at the "
                "deaths (%d duplicates, batch=%d)" % (dups, batch))
        o = done or status()
        t.check(o.get("sent") == o.get("acked") == len(ref) and o.get("dropped") == 0
                and o.get("queued") == 0,
                "status: sent == acked == exported events, none queued or dropped (%s)" % (o,))
        errs = []
        for e in recv:
            want = ref_keys.get((e["record"]["tid"], e["record"]["args"]["iteration"]))
            if want is None:
                continue
            rec = dict(want)
            ts = rec.pop("ts")
            if e["time"] != event_time(ts) or e["record"] != rec or e["tag"] != "sled.sample.work":
                errs.append("%r vs %r" % (e, want))
        t.check(not errs, "every received record equals probed's own JSON line of the event "
                "(tag, EventTime, fields; %d differ%s)"
                % (len(errs), ": " + errs[0] if errs else ""))
        failed = t.failed > 0
    finally:
        if app:
            stop_app(app)
        d.stop()
        t.check(d.proc.returncode == 0, "probed exits cleanly on SIGTERM (%s)"
                % d.proc.returncode)
        rx.kill(signal.SIGTERM)
        if failed:
            print("# probed log:\n" + d.log_text(), flush=True)


def main():
    t = Suite()
    tmp = tempfile.mkdtemp(prefix="sled-forward-")
    try:
        modes(t, tmp)
        refused(t, tmp)
        refused_tls(t, tmp)
        restart(t, tmp)
    finally:
        if t.failed:
            print("# kept " + tmp, flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
