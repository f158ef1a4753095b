#!/usr/bin/env python3
"""probed --metrics and probectl top against a real probed, a real traced process and a
real Prometheus server (Debian's prometheus package).

  - /metrics, fetched with urllib while the traced process is stopped, equals
    probectl --json status, family by family (per probe, and per tracepoint as status's
    per-probe "tracepoints"), and passes promtool's checker and linter;
  - Prometheus scrapes the endpoint and its query API reads back values consistent with
    status (between the figures before it started and after it scraped);
  - anything but GET is 405, any path but /metrics 404, an oversized header 400, a 17th
    connection waits for a free slot, an idle connection is closed after the timeout, and a non-loopback
    address is refused without --metrics-any;
  - probectl top --once: its columns, a row for the probe, rates >= 0, totals == status.

Usage: metrics_prometheus.py BUILD_DIR
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, start_app, stop_app  # noqa: E402
from promtest import (Prometheus, metrics_address, parse_exposition,  # noqa: E402
                      promtool_check)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
workers = os.path.join(build, "samples", "sample_workers")

def raw_request(addr, data, timeout=5):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


t = Suite()
d = Daemon(probed, probectl, extra=("--metrics", "127.0.0.1:0"))
apps, prom = [], None
try:
    addr = metrics_address(d)
    url = f"http://{addr}/metrics"
    host, port = addr.rsplit(":", 1)

    app = start_app([workers, "2", "100000000", "1"])
    apps.append(app)
    d.ctl("enable", "sample:work", "-p", str(app.pid))
    deadline = time.time() + 10
    while time.time() < deadline and (d.probe_counts(1) or {}).get("hits", 0) < 20:
        time.sleep(0.05)

    # --- (1) /metrics equals status, with the process stopped so nothing moves.
    os.kill(app.pid, signal.SIGSTOP)
    st_probe = d.wait_drained(1)
    with urllib.request.urlopen(url, timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        body = r.read().decode()
    st = d.status()
    t.check(r.status == 200 and ctype.startswith("text/plain; version=0.0.4"),
            f"GET /metrics: 200, {ctype}")
    samples, types = parse_exposition(body)
    p = st["probes"][0]
    labels = frozenset({("probe", "1"), ("tracepoint", "sample:work")})
    want = {"hits": p["hits"], "emitted": p["emitted"], "dropped": p["dropped"],
            "filtered": p["filtered"], "exported": p["exported"],
            "sampled_out": p["sampled_out"], "rate_limited": p["rate_limited"]}
    got = {k: samples.get((f"sled_probe_{k}_total", labels)) for k in want}
    t.check(p["hits"] >= 20 and got == {k: float(v) for k, v in want.items()},
            f"per-probe counters equal status ({got} vs {want})")
    t.check(all(types.get(f"sled_probe_{k}_total") == "counter" for k in want),
            "per-probe families are typed counter")
    t.check(samples.get(("sled_metrics_truncated", frozenset())) == 0,
            "under the default --max-metrics-bytes nothing is cut: sled_metrics_truncated 0")
    out = st["outputs"][0]
    olab = frozenset({("output", out["spec"])})
    t.check(samples.get(("sled_output_sent_total", olab)) == out["sent"] and
            samples.get(("sled_output_dropped_total", olab)) == out["dropped"],
            f"per-output sent/dropped equal status ({out['sent']}, {out['dropped']})")
    dm = st["daemon"]
    t.check(samples.get(("sled_limits_hit_total", frozenset())) == dm["limits_hit"] and
            samples.get(("sled_probes", frozenset())) == 1 and
            samples.get(("sled_processes_attached", frozenset({("mode", "sled")}))) ==
            sum(1 for x in st["processes"] if x["mode"] == "sled") and
            samples.get(("sled_events_drained_total", frozenset()), 0) >= p["exported"],
            "daemon figures: limits hit, probes, processes attached, events drained")
    for line in body.splitlines():
        if not line.startswith("#"):
            continue
        if not re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S", line):
            t.check(False, f"malformed comment line: {line}")
            break
    else:
        t.check(True, "every # line is a HELP or TYPE line")

    ok, said = promtool_check(body)
    if ok is not None:
        t.check(ok, f"promtool check metrics: no error, no lint ({said})")

    # --- probectl top --once with the process stopped: rates 0, totals == status.
    r = d.ctl("top", "--once", "--interval", "0.2")
    lines = r.stdout.splitlines()
    header = next((ln for ln in lines if ln.startswith("PROBE")), "")
    t.check(header.split() == ["PROBE", "TRACEPOINT", "HITS/S", "EMITTED/S", "DROPPED/S",
                               "FILTERED+/S", "HITS", "EMITTED", "DROPPED", "FILTERED+"],
            f"top's columns: {header.split()}")
    row = next((ln.split() for ln in lines if ln.startswith("1 ")), [])
    held = p["filtered"] + p["sampled_out"] + p["rate_limited"]
    t.check(row[:2] == ["1", "sample:work"] and [float(x) for x in row[2:6]] == [0.0] * 4 and
            [int(x) for x in row[6:]] == [p["hits"], p["emitted"], p["dropped"], held],
            f"top's row for the stopped probe: rates 0, totals as status ({row})")
    os.kill(app.pid, signal.SIGCONT)

    # --- top --once --json while it runs: rates > 0 and totals within status's.
    before = d.probe_counts(1)
    top = json.loads(d.ctl("--json", "top", "--once", "--interval", "0.5").stdout)
    after = d.probe_counts(1)
    row = top["probes"][0] if top["probes"] else {}
    t.check(row.get("id") == 1 and row["tracepoint"] == "sample:work" and
            all(row[f"{k}_per_s"] >= 0 for k in ("hits", "emitted", "dropped", "filtered")) and
            row["hits_per_s"] > 0 and before["hits"] <= row["hits"] <= after["hits"],
            f"top --json while running: hits/s {row.get('hits_per_s')}, total "
            f"{before['hits']} <= {row.get('hits')} <= {after['hits']}")

    # --- top without --once refreshes until interrupted (screens apart when not a tty).
    r = subprocess.run(["timeout", "-s", "INT", "2", probectl, "-S", d.socket, "top",
                        "--interval", "0.3"], capture_output=True, text=True, timeout=30)
    screens = r.stdout.count("probectl top - ")
    t.check(screens >= 2 and "\033[" not in r.stdout,
            f"top refreshes until interrupted ({screens} screens, no escapes off a tty)")

    # --- a probe over two tracepoints: top has a row for each under the probe's, the same
    # tracepoints as status's, and their figures never pass the probe's (what exited
    # processes counted stays in the probe's row only).
    r = d.ctl("--json", "enable", "sample:*", "-p", str(app.pid))
    pid2 = json.loads(r.stdout)["id"]
    deadline = time.time() + 10
    while time.time() < deadline and (d.probe_counts(pid2) or {}).get("hits", 0) < 20:
        time.sleep(0.05)
    st = d.probe_counts(pid2)
    names = sorted(x["tracepoint"] for x in st.get("tracepoints", []))
    t.check(names == ["sample:phase", "sample:work"],
            f"status: the probe's figures per tracepoint ({names})")
    top = json.loads(d.ctl("--json", "top", "--once", "--interval", "0.3").stdout)
    row = next((x for x in top["probes"] if x["id"] == pid2), {})
    tps = {x["tracepoint"]: x for x in row.get("tracepoints", [])}
    t.check(sorted(tps) == names and tps["sample:work"]["hits"] > 0 and
            sum(x["hits"] for x in tps.values()) <= row["hits"] and
            all(x["hits_per_s"] is not None and x["hits_per_s"] >= 0 for x in tps.values()),
            f"top --json: a row per tracepoint under the probe ({row})")
    lines = d.ctl("top", "--once", "--interval", "0.2").stdout.splitlines()
    sub = [ln.split()[0] for ln in lines if ln.startswith("      ")]
    t.check(sorted(sub) == names, f"top: the tracepoint rows under the probe's ({sub})")

    # --- /metrics per tracepoint equals status's per-probe "tracepoints", both read with
    # the process stopped and its events drained.
    os.kill(app.pid, signal.SIGSTOP)
    d.wait_drained(1)
    d.wait_drained(pid2)
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read().decode()
    st = d.status()
    samples, types = parse_exposition(body)
    figs = ("hits", "emitted", "exported", "dropped", "filtered", "sampled_out", "rate_limited")
    want, got = {}, {}
    for p in st["probes"]:
        for tp in p.get("tracepoints", []):
            prov, name = tp["tracepoint"].split(":", 1)
            lab = frozenset({("probe", str(p["id"])), ("provider", prov), ("name", name)})
            for k in figs:
                want[(k, lab)] = float(tp[k])
    for (n, lab), v in samples.items():
        if n.startswith("sled_tracepoint_") and n.endswith("_total"):
            got[(n[len("sled_tracepoint_"):-len("_total")], lab)] = v
    work2 = frozenset({("probe", str(pid2)), ("provider", "sample"), ("name", "work")})
    t.check(len(want) == 3 * len(figs) and got == want and want[("hits", work2)] > 0,
            f"per-tracepoint series equal status's tracepoints ({len(got)} samples, "
            f"{len(want)} in status; differing: "
            f"{ {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)} })")
    t.check(all(types.get(f"sled_tracepoint_{k}_total") == "counter" for k in figs),
            "per-tracepoint families are typed counter")
    ok, said = promtool_check(body)
    if ok is not None:
        t.check(ok, f"promtool check metrics with the per-tracepoint series ({said})")
    os.kill(app.pid, signal.SIGCONT)
    d.ctl("disable", str(pid2))

    # --- (3) methods, paths, sizes, connection limit.
    for method in ("POST", "PUT", "HEAD", "DELETE"):
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=b"x" * 100 if method in
                                   ("POST", "PUT") else None, method=method), timeout=5)
            code, allow = 200, None
        except urllib.error.HTTPError as e:
            code, allow = e.code, e.headers.get("Allow")
        t.check(code == 405 and allow == "GET", f"{method} /metrics: {code}, Allow: {allow}")
    for path in ("/", "/metricsx", "/metrics/x", "/api/v1/query"):
        try:
            urllib.request.urlopen(f"http://{addr}{path}", timeout=5)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        t.check(code == 404, f"GET {path}: {code}")
    with urllib.request.urlopen(url + "?x=1", timeout=5) as r:
        t.check(r.status == 200, "GET /metrics?x=1: 200 (the query is ignored)")
    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n"
    resp = raw_request(addr, big)
    t.check(resp.startswith(b"HTTP/1.1 400"), f"a 9 KB header: {resp[:30]!r}")
    resp = raw_request(addr, b"GARBAGE\r\n\r\n")
    t.check(resp.startswith(b"HTTP/1.1 400"), f"a malformed request line: {resp[:30]!r}")
    # 16 clients that send half a header hold every slot; the backlog is accepted in
    # order, so a 17th is accepted only when one of them goes.
    held_conns = [socket.create_connection((host, int(port))) for _ in range(16)]
    for s in held_conns:
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
    waiting = socket.create_connection((host, int(port)), timeout=0.5)
    waiting.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    try:
        early = waiting.recv(100)
    except socket.timeout:
        early = None
    t.check(early is None, f"a 17th connection waits while 16 are open ({early!r})")
    t.check(d.probe_counts(1) is not None, "and the control socket answers meanwhile")
    held_conns[0].close()
    waiting.settimeout(5)
    resp = b""
    while True:
        b = waiting.recv(65536)
        if not b:
            break
        resp += b
    waiting.close()
    t.check(resp.startswith(b"HTTP/1.1 200"), f"and is served when one closes: {resp[:20]!r}")
    for s in held_conns[1:]:
        s.close()
    with urllib.request.urlopen(url, timeout=5) as r:
        t.check(r.status == 200, "with them closed, GET /metrics: 200")

    # An idle client: the daemon serves on (Prometheus below), and closes it in time.
    idle = socket.create_connection((host, int(port)))
    idle_since = time.time()

    # --- (2) a real Prometheus scrapes the endpoint.
    before = d.probe_counts(1)
    before_sent = d.status()["outputs"][0]["sent"]
    prom = Prometheus(addr)
    query = prom.query
    health, result = prom.wait_for("sled_probe_hits_total")
    after = d.probe_counts(1)
    t.check(health == "up", f"Prometheus's target is up ({health})")
    got = {tuple(sorted(x["metric"].items())): float(x["value"][1]) for x in result}
    key = (("__name__", "sled_probe_hits_total"), ("instance", addr), ("job", "sled"),
           ("probe", "1"), ("tracepoint", "sample:work"))
    t.check(key in got and before["hits"] <= got[key] <= after["hits"],
            f"Prometheus reads sled_probe_hits_total back: {before['hits']} <= "
            f"{got.get(key)} <= {after['hits']}")
    em = query('sled_probe_emitted_total{probe="1"}')
    dr = query('sled_probe_dropped_total{probe="1"}')
    se = query("sled_output_sent_total")
    ok = (len(em) == 1 and len(dr) == 1 and len(se) == 1 and
          before["emitted"] <= float(em[0]["value"][1]) <= after["emitted"] and
          float(dr[0]["value"][1]) <= after["dropped"] and
          before_sent <= float(se[0]["value"][1]) and
          se[0]["metric"].get("output", "").startswith("jsonl:"))
    t.check(ok, f"emitted, dropped and output sent read back consistent with status "
            f"({em and em[0]['value']}, {dr and dr[0]['value']}, {se and se[0]['value']})")

    # --- the idle connection was closed by the daemon after its timeout (5 s).
    idle.settimeout(max(0.5, idle_since + 8 - time.time()))
    try:
        closed = idle.recv(1) == b""
    except (socket.timeout, ConnectionError):
        closed = False
    t.check(closed, "an idle connection is closed after the timeout")
    idle.close()

    # --- a non-loopback address needs --metrics-any.
    r = subprocess.run([probed, "-S", os.path.join(d.dir, "other.sock"), "--metrics",
                        "0.0.0.0:0"], capture_output=True, text=True, timeout=10)
    t.check(r.returncode != 0 and "not a loopback address" in r.stderr and
            "--metrics-any" in r.stderr, f"--metrics 0.0.0.0:0 refused: {r.stderr.strip()}")
    r = subprocess.run([probed, "-S", os.path.join(d.dir, "other.sock"), "--metrics",
                        "127.0.0.1"], capture_output=True, text=True, timeout=10)
    t.check(r.returncode != 0 and "expected HOST:PORT" in r.stderr,
            f"--metrics without a port refused: {r.stderr.strip()}")

    # --- the config file's directive: metrics HOST:PORT [any].
    def start_with_config(text):
        conf = os.path.join(d.dir, "probed.conf")
        with open(conf, "w") as f:
            f.write(text)
        p = subprocess.Popen([probed, "-v", "-c", conf, "-S", os.path.join(d.dir, "c.sock")],
                             stderr=subprocess.PIPE, text=True)
        line = ""
        deadline = time.time() + 10
        while time.time() < deadline:
            line = p.stderr.readline()
            if not line or "metrics at" in line or "Error" in line:
                break
        p.terminate()
        rest = p.communicate(timeout=10)[1]
        return line + rest

    out = start_with_config("metrics 127.0.0.1:0\n")
    t.check(re.search(r"metrics at http://127\.0\.0\.1:\d+/metrics", out) is not None,
            "config 'metrics 127.0.0.1:0' serves the endpoint")
    out = start_with_config("metrics 0.0.0.0:0\n")
    t.check("not a loopback address" in out, "config 'metrics 0.0.0.0:0' is refused")
    out = start_with_config("metrics 0.0.0.0:0 any\n")
    t.check(re.search(r"metrics at http://0\.0\.0\.0:\d+/metrics", out) is not None,
            "config 'metrics 0.0.0.0:0 any' is allowed")
    out = start_with_config("metrics 127.0.0.1:0 everyone\n")
    t.check("takes HOST:PORT [any]" in out, f"config 'metrics ... everyone': {out.strip()}")
finally:
    if prom:
        prom.stop()
    for a in apps:
        try:
            os.kill(a.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        stop_app(a)
    d.stop()
t.finish()
