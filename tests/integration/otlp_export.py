#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The otlp output (OpenTelemetry logs over OTLP/HTTP) against an independent receiver:
otlp_receiver.js decodes every request with the generated protobuf code of the npm
package @opentelemetry/otlp-transformer (ExportLogsServiceRequest.decode for protobuf,
.fromObject for JSON).

  1. Known events (encode_driver, see msgpack_python.py) in each encoding: protobuf,
     JSON, each gzipped, and protobuf over TLS (otlp+tls://, a test CA made here).  Every
     event must arrive once as one LogRecord with its fields as typed attributes,
     sled.provider / sled.name / thread.id / sled.mode / sled.truncated, body
     "provider:name", time_unix_nano the event's time, observed_time_unix_nano the time
     of the run, and its resource attributes (service.name, process.pid,
     process.executable.name, host.name).
  2. Retries: the receiver answers 503 with Retry-After, then 429, then 502; every event
     arrives once after it recovers, and the waits honoured Retry-After.
  3. Refusals: a 400 drops its batch, counted as dropped with the status in the output's
     error; a partial success's rejected records are counted as dropped too.
  4. A receiver that is down: the bounded queue drops, and written + dropped = N.
  5. probed and a real traced program: service.name is the program's name (and the
     service= option overrides it), the events of the process share one ResourceLogs
     per request, every exported event arrives once; a receiver that answers 400 shows
     the drops in probectl status; a receiver that is down fills the bounded queue and
     for the probe emitted = exported + dropped, for the output exported = sent + dropped.

usage: otlp_export.py BUILD_DIR
Runs with /usr/bin/python3.  Skips (exit 0, "SKIP: ...") when node or the npm package is
missing: scripts/test.sh installs it (ensure_npm_otlp).
"""
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sledtest import Daemon, Suite, isolate_dev_shm, wait_until  # noqa: E402
from tls_certs import make_test_ca  # noqa: E402

NODE_MODULES = os.environ.get("SLED_NODE_MODULES", "/var/cache/sled-test/node/node_modules")
SERVER_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "otlp_receiver.js")
ROOT_JS = "@opentelemetry/otlp-transformer/build/src/generated/root"


def skip_unless_receiver():
    node = shutil.which("node")
    if not node:
        print("SKIP: node is not installed (apt-get install nodejs)")
        sys.exit(0)
    r = subprocess.run([node, "-e", "require('%s')" % ROOT_JS],
                       env=dict(os.environ, NODE_PATH=NODE_MODULES), capture_output=True,
                       timeout=30)
    if r.returncode != 0:
        print("SKIP: npm package @opentelemetry/otlp-transformer not found in %s "
              "(scripts/test.sh installs it: ensure_npm_otlp)" % NODE_MODULES)
        sys.exit(0)
    return node


if len(sys.argv) != 2:
    sys.exit(__doc__)
NODE = skip_unless_receiver()
isolate_dev_shm()

from msgpack_python import expected_event, text  # noqa: E402

BUILD = sys.argv[1]
DRIVER = os.path.join(BUILD, "tests", "integration", "encode_driver")
PROBED = os.path.join(BUILD, "probed", "probed")
PROBECTL = os.path.join(BUILD, "probed", "probectl")
SAMPLE_BASIC = os.path.join(BUILD, "samples", "sample_basic")
INT64_MAX = (1 << 63) - 1
HOST = socket.gethostname()


class Receiver:
    """otlp_receiver.js on a loopback port, logging each request to a file."""

    def __init__(self, tmp, name, respond=(), tls=None, port=0, keep_alive_ms=None):
        self.out = os.path.join(tmp, name + ".jsonl")
        self.log = os.path.join(tmp, name + ".log")
        args = [NODE, SERVER_JS, self.out, "--port", str(port)]
        for r in respond:
            args += ["--respond", r]
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if keep_alive_ms:
            args += ["--keep-alive-ms", str(keep_alive_ms)]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True,
                                         env=dict(os.environ, NODE_PATH=NODE_MODULES))
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError("otlp_receiver.js did not start: " + open(self.log).read())
        self.port = int(line.split()[1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def requests(self):
        try:
            with open(self.out) as f:
                return [json.loads(x) for x in f if x.endswith("\n")]
        except FileNotFoundError:
            return []

    def records(self):
        """(resource attributes as a dict, scope, record) of every delivered LogRecord."""
        out = []
        for q in self.requests():
            for rl in (q.get("body") or {}).get("resourceLogs", []):
                res = {a["key"]: a["value"] for a in rl["resource"]["attributes"]}
                for sl in rl.get("scopeLogs", []):
                    for r in sl.get("logRecords", []):
                        out.append((res, sl.get("scope"), r))
        return out


def run_driver(n, spec, hold_until=None, timeout=60):
    """encode_driver write n spec: (returncode, written, dropped, error)."""
    p = subprocess.Popen([DRIVER, "write"] + (["--hold"] if hold_until else []) +
                         [str(n), spec], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if hold_until:
        hold_until()
    _, err = p.communicate(timeout=timeout)
    m = re.search(r"written (\d+) acked \d+ dropped (\d+) error '(.*)'", err)
    if not m:
        return p.returncode, None, None, err
    return p.returncode, int(m.group(1)), int(m.group(2)), m.group(3)


def value_of(kind, want):
    """The AnyValue (as toObject gives it) an attribute of that kind must have."""
    if kind == "int":
        return {"intValue": str(want)} if want <= INT64_MAX else {"stringValue": str(want)}
    if kind == "bool":
        return {"boolValue": want}
    if kind == "str":
        t = text(want)
        return {} if t is None else {"stringValue": t}
    if math.isnan(want):
        return {"doubleValue": {"$num": "NaN"}}
    if math.isinf(want):
        return {"doubleValue": {"$num": "Infinity" if want > 0 else "-Infinity"}}
    return {"doubleValue": want}


def check_record(i, res, scope, rec, service, t0, t1, json_mode):
    """Differences between a received LogRecord (and its resource) and driver event i."""
    head, fields = expected_event(i)
    errs = []
    want_attrs = [{"key": n, "value": value_of(k, v)} for n, k, v in fields]
    want_attrs += [{"key": "sled.provider", "value": {"stringValue": head["provider"]}},
                   {"key": "sled.name", "value": {"stringValue": head["name"]}},
                   {"key": "thread.id", "value": {"intValue": str(head["tid"])}}]
    if "mode" in head:
        want_attrs.append({"key": "sled.mode", "value": {"stringValue": head["mode"]}})
    trunc = [n for n, k, v in fields if k == "str" and v[0] is not None and v[1]]
    if trunc:
        want_attrs.append({"key": "sled.truncated", "value": {"arrayValue": {"values": [
            {"stringValue": n} for n in trunc]}}})
    if rec.get("attributes") != want_attrs:
        got = rec.get("attributes") or []
        diff = [(a, b) for a, b in zip(got, want_attrs) if a != b]
        errs.append("attributes differ: %r" % (diff[:2] or (len(got), len(want_attrs)),))
    ts = int(rec.get("timeUnixNano", "0"))
    # protobufjs's fromObject reads a fixed64 string as signed: compare modulo 2^64
    if ts % (1 << 64) != head["ts"]:
        errs.append("timeUnixNano %d, expected %d" % (ts, head["ts"]))
    obs = int(rec.get("observedTimeUnixNano", "0"))
    if not t0 <= obs <= t1:
        errs.append("observedTimeUnixNano %d outside the run [%d, %d]" % (obs, t0, t1))
    if rec.get("body") != {"stringValue": "%s:%s" % (head["provider"], head["name"])}:
        errs.append("body %r" % (rec.get("body"),))
    if set(rec) - {"attributes", "timeUnixNano", "observedTimeUnixNano", "body"}:
        errs.append("unexpected fields %r (no severity expected)" % (sorted(rec),))
    want_res = {"service.name": {"stringValue": service},
                "process.pid": {"intValue": str(head["pid"])},
                "process.executable.name": {"stringValue": "drv-app"},
                "host.name": {"stringValue": HOST}}
    if res != want_res:
        errs.append("resource %r" % (res,))
    if scope != {"name": "sled", "attributes": []} and scope != {"name": "sled"}:
        errs.append("scope %r" % (scope,))
    return errs


def check_delivery(t, what, rx, n, t0, t1, service="drv-app", json_mode=False):
    recs = rx.records()
    seen = {}
    errs = []
    for res, scope, rec in recs:
        i = int(res.get("process.pid", {}).get("intValue", "0")) - 1000
        seen[i] = seen.get(i, 0) + 1
        errs += ["event %d: %s" % (i, e) for e in
                 check_record(i, res, scope, rec, service, t0, t1, json_mode)]
    missing = [i for i in range(n) if i not in seen]
    twice = [i for i, c in seen.items() if c > 1]
    t.check(not missing and not twice and len(recs) == n,
            "%s: each of the %d events arrived once (%d records, %d missing, %d twice)"
            % (what, n, len(recs), len(missing), len(twice)))
    t.check(not errs, "%s: every record has the event's typed attributes, body, times and "
            "resource (%d differences%s)" % (what, len(errs), ": " + errs[0] if errs else ""))


def encodings(t, tmp):
    n = 600
    cases = [
        ("protobuf", "", False, "application/x-protobuf", False),
        ("protobuf gzip", "?gzip=1&batch=128&header=Authorization: Bearer t0ken"
         "&header=X-Scope-OrgID:tenant-1", False, "application/x-protobuf", True),
        ("json", "?json=1&batch=200", True, "application/json", False),
        ("json gzip", "?json=1&gzip=1", True, "application/json", True),
    ]
    for k, (name, opts, json_mode, ctype, gz) in enumerate(cases):
        rx = Receiver(tmp, "enc%d" % k)
        try:
            t0 = time.time_ns()
            rc, written, dropped, err = run_driver(n, "otlp://127.0.0.1:%d%s" % (rx.port, opts))
            t1 = time.time_ns()
            t.check(rc == 0 and written == n and dropped == 0,
                    "%s: the driver's output sent all %d events (rc %s, written %s, dropped %s)"
                    % (name, n, rc, written, dropped))
            reqs = rx.requests()
            bad = [q for q in reqs if q["status"] != 200 or q["contentType"] != ctype or
                   q["gzip"] != gz or q["path"] != "/v1/logs"]
            t.check(reqs and not bad, "%s: %d POSTs to /v1/logs, Content-Type %s, gzip %s%s"
                    % (name, len(reqs), ctype, gz, ": %r" % bad[0] if bad else ""))
            if "header=" in opts:
                t.check(all(q["authorization"] == "Bearer t0ken" and q["scope"] == "tenant-1"
                            for q in reqs), "%s: the header= options came with every request"
                        % name)
            check_delivery(t, name, rx, n, t0, t1, json_mode=json_mode)
        finally:
            rx.kill()
    certs = make_test_ca(tmp)
    rx = Receiver(tmp, "tls", tls=(certs["receiver.pem"], certs["receiver.key"]))
    try:
        t0 = time.time_ns()
        rc, written, dropped, err = run_driver(
            n, "otlp+tls://localhost:%d?ca=%s&gzip=1&service=checkout" % (rx.port,
                                                                        certs["ca.pem"]))
        t1 = time.time_ns()
        t.check(written == n, "tls: all %d events sent (written %s, error %r)"
                % (n, written, err))
        check_delivery(t, "tls, service=checkout", rx, n, t0, t1, service="checkout")
    finally:
        rx.kill()
    rx = Receiver(tmp, "tls-wrong-ca", tls=(certs["receiver.pem"], certs["receiver.key"]))
    try:
        rc, written, dropped, err = run_driver(
            50, "otlp+tls://localhost:%d?ca=%s" % (rx.port, certs["other-ca.pem"]))
        t.check(written == 0 and dropped == 50 and "certificate verify failed" in err
                and rx.requests() == [],
                "tls, the wrong CA: nothing sent, all dropped at exit, the reason given (%r)"
                % err)
    finally:
        rx.kill()


def retries(t, tmp):
    n, batch = 300, 100
    rx = Receiver(tmp, "retry", respond=["503:1", "429", "502:0", "504"])
    try:
        t0 = time.time_ns()
        start = time.monotonic()
        rc, written, dropped, err = run_driver(
            n, "otlp://127.0.0.1:%d?batch=%d" % (rx.port, batch),
            hold_until=lambda: wait_until(lambda: len(rx.records()) >= n, 30, 0.05))
        elapsed = time.monotonic() - start
        t1 = time.time_ns()
        reqs = rx.requests()
        statuses = [q["status"] for q in reqs]
        print("# retries: statuses %s, %.2f s" % (statuses, elapsed))
        t.check(statuses[:4] == [503, 429, 502, 504] and statuses[4:] == [200] * 3,
                "the batch refused with 503, 429, 502 and 504 was sent again, then the rest "
                "(%s)" % statuses)
        t.check(elapsed >= 1.0, "Retry-After: 1 was honoured (%.2f s)" % elapsed)
        t.check(written == n and dropped == 0, "status: %d sent, none dropped (%s, %s)"
                % (n, written, dropped))
        check_delivery(t, "after retries", rx, n, t0, t1)
    finally:
        rx.kill()


def refusals(t, tmp):
    n, batch = 300, 100
    rx = Receiver(tmp, "bad", respond=["400"])
    try:
        rc, written, dropped, err = run_driver(n, "otlp://127.0.0.1:%d?batch=%d" % (rx.port,
                                                                                  batch))
        statuses = [q["status"] for q in rx.requests()]
        t.check(statuses == [400, 200, 200], "400 is not retried (%s)" % statuses)
        t.check(written == n - batch and dropped == batch and "HTTP 400" in err and
                "test receiver answers 400" in err,
                "a 400 drops its batch: %d sent, %d dropped, error %r"
                % (written or 0, dropped or 0, err))
        t.check(len(rx.records()) == n - batch, "the other batches arrived (%d records)"
                % len(rx.records()))
    finally:
        rx.kill()
    for k, mode in enumerate(["", "&json=1"]):
        rx = Receiver(tmp, "partial%d" % k, respond=["partial:7"])
        try:
            rc, written, dropped, err = run_driver(n, "otlp://127.0.0.1:%d?batch=%d%s"
                                                   % (rx.port, batch, mode))
            t.check(written == n - 7 and dropped == 7 and "rejected 7" in err and
                    "test receiver rejected 7" in err,
                    "a partial success%s: its 7 rejected records are counted as dropped "
                    "(%s sent, %s dropped, %r)" % (" (json)" if mode else "", written,
                                                   dropped, err))
        finally:
            rx.kill()


def receiver_down(t, tmp):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    n = 5000
    start = time.monotonic()
    rc, written, dropped, err = run_driver(n, "otlp://127.0.0.1:%d?queue=1000&batch=100" % port)
    elapsed = time.monotonic() - start
    t.check(written == 0 and dropped == n and "refused" in err.lower(),
            "receiver down: nothing sent, all %d counted as dropped, the reason given "
            "(%s, %s, %r)" % (n, written, dropped, err))
    t.check(elapsed < 20, "receiver down: the writer was never blocked (%.1f s)" % elapsed)


def output_status(d, prefix):
    for o in d.status().get("outputs", []):
        if o["spec"].startswith(prefix):
            return o
    return None


def daemon(t, tmp):
    good = Receiver(tmp, "daemon")
    bad = Receiver(tmp, "daemon-400", respond=["400"] * 1000)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    down_port = s.getsockname()[1]
    s.close()
    specs = {
        "good": "otlp://127.0.0.1:%d?batch=64" % good.port,
        "json": "otlp://127.0.0.1:%d?json=1&service=web-frontend" % good.port,
        "bad": "otlp://127.0.0.1:%d" % bad.port,
        "down": "otlp://127.0.0.1:%d?queue=10&batch=5" % down_port,
    }
    extra = []
    for spec in specs.values():
        extra += ["-o", spec]
    d = Daemon(PROBED, PROBECTL, extra=extra)
    failed = True
    try:
        probe_id = d.ctl_json("enable", "sample:request", "--pending")["id"]
        app = subprocess.Popen([SAMPLE_BASIC, "300", "1"], stdout=subprocess.DEVNULL)
        app.wait(timeout=60)
        c = d.wait_drained(probe_id) or {}
        ref = [e for e in d.events() if e["pid"] == app.pid and e["name"] == "request"]

        def settled():
            st = {k: output_status(d, v) for k, v in specs.items()}
            ok = all(st.values()) and st["good"]["queued"] == 0 and \
                st["json"]["queued"] == 0 and st["bad"]["queued"] == 0 and \
                st["good"]["sent"] >= len(ref) and st["bad"]["dropped"] >= len(ref) and \
                st["down"]["dropped"] > 0
            return st if ok else None
        st, _ = wait_until(settled, 30, 0.2)
        st = st or {k: output_status(d, v) for k, v in specs.items()}
        for k, o in st.items():
            print("# %-5s state %s sent %s queued %s dropped %s error %r" % (
                k, o and o["state"], o and o["sent"], o and o["queued"], o and o["dropped"],
                o and o["error"]))
        # the first few hits may come before the process is attached: not all 300
        t.check(len(ref) > 200 and len(ref) == c.get("exported") and c.get("emitted") ==
                c.get("exported", 0) + c.get("dropped", 0),
                "probe: %d events of the app exported, emitted = exported + dropped (%s)"
                % (len(ref), c))
        mine = [(res, rec) for res, _, rec in good.records()
                if res["process.pid"] == {"intValue": str(app.pid)}]
        by_service = {}
        for res, rec in mine:
            by_service.setdefault(res["service.name"]["stringValue"], []).append(rec)
        t.check(sorted(by_service) == ["sample_basic", "web-frontend"],
                "service.name is the traced program's name, or service= (%s)"
                % sorted(by_service))
        want_res = {"service.name": {"stringValue": "sample_basic"},
                    "process.pid": {"intValue": str(app.pid)},
                    "process.executable.name": {"stringValue": "sample_basic"},
                    "host.name": {"stringValue": HOST}}
        t.check(all(res == want_res for res, _ in mine
                    if res["service.name"]["stringValue"] == "sample_basic"),
                "resource attributes of the real process: %r" % (mine[0][0] if mine else None,))
        for service, recs in by_service.items():
            ts = sorted(int(r["timeUnixNano"]) for r in recs)
            want = sorted(e["ts"] for e in ref)
            t.check(ts == want, "%s: each of the %d exported events arrived once with its "
                    "time (%d records)" % (service, len(ref), len(recs)))
        # one ResourceLogs per process and request
        per_req = []
        for q in good.requests():
            pids = [rl["resource"]["attributes"][1]["value"]["intValue"]
                    for rl in (q.get("body") or {}).get("resourceLogs", [])]
            per_req.append(len(pids) == len(set(pids)))
        t.check(per_req and all(per_req), "the events of one process share one ResourceLogs "
                "per request (%d requests)" % len(per_req))
        b = st["bad"]
        t.check(b and b["sent"] == 0 and b["dropped"] >= len(ref) and "HTTP 400" in b["error"],
                "a receiver answering 400: status counts the batches as dropped (%s, %r)"
                % (b and b["dropped"], b and b["error"]))
        dn = st["down"]
        total = sum(dn[k] for k in ("sent", "dropped", "queued"))
        t.check(dn["sent"] == 0 and dn["queued"] <= 10 and total == c.get("exported"),
                "receiver down: the queue stays within queue=10, exported = sent + dropped "
                "+ queued (%d = %d + %d + %d), error %r" % (c.get("exported", 0), dn["sent"],
                                                            dn["dropped"], dn["queued"],
                                                            dn["error"]))
        failed = t.failed > 0
    finally:
        d.stop()
        t.check(d.proc.returncode == 0, "probed exits cleanly on SIGTERM (%s)"
                % d.proc.returncode)
        good.kill()
        bad.kill()
        if failed:
            print("# probed log:\n" + d.log_text(), flush=True)


def keep_alive(t, tmp):
    """A receiver that closes idle connections after 150 ms, events 400 ms apart: every
    batch finds its connection closed, opens a new one, and nothing fails or is lost."""
    rx = Receiver(tmp, "keepalive", keep_alive_ms=150)
    spec = "otlp://127.0.0.1:%d?gzip=1" % rx.port
    d = Daemon(PROBED, PROBECTL, extra=["-o", spec])
    try:
        probe_id = d.ctl_json("enable", "sample:request", "--pending")["id"]
        app = subprocess.Popen([SAMPLE_BASIC, "8", "400"], stdout=subprocess.DEVNULL)
        app.wait(timeout=60)
        c = d.wait_drained(probe_id) or {}
        ref = [e for e in d.events() if e["pid"] == app.pid and e["name"] == "request"]
        o, _ = wait_until(lambda: (lambda o: o if o and o["queued"] == 0 and
                                   o["sent"] >= len(ref) else None)(output_status(d, "otlp:")),
                          20, 0.1)
        o = o or output_status(d, "otlp:") or {}
        reqs = rx.requests()
        conns = {q["connection"] for q in reqs}
        got = [r for res, _, r in rx.records()
               if res["process.pid"] == {"intValue": str(app.pid)}]
        print("# keep-alive: %d requests on %d connections, status %s" % (len(reqs), len(conns), o))
        t.check(len(ref) >= 5 and len(got) == len(ref) == c.get("exported"),
                "keep-alive: each of the %d events arrived once (%d)" % (len(ref), len(got)))
        t.check(len(conns) > 1 and all(q["status"] == 200 for q in reqs) and
                o.get("dropped") == 0 and o.get("error") == "",
                "keep-alive: connections the receiver closed while idle were replaced, with no "
                "error (%d connections)" % len(conns))
    finally:
        d.stop()
        rx.kill()


def main():
    t = Suite()
    tmp = tempfile.mkdtemp(prefix="sled-otlp-")
    try:
        encodings(t, tmp)
        retries(t, tmp)
        refusals(t, tmp)
        receiver_down(t, tmp)
        daemon(t, tmp)
        keep_alive(t, tmp)
    finally:
        if t.failed:
            print("# kept " + tmp, flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
