#!/usr/bin/python3
"""The syslog exporter (syslog://, syslog+udp://) against a real rsyslogd started here.

  1. encode_driver's known events (msgpack_python.py's expected_event) over TCP and UDP:
     every event arrives once, and each message has the right PRI, TIMESTAMP, HOSTNAME,
     APP-NAME, PROCID, MSGID, SD params (values, escaping, UTF-8, truncated) and MSG,
     both in the raw message and as rsyslog's RFC 5424 parser read it.
  2. Bad options: one-line errors naming the known options.
  3. A real probed with a sample app: the syslog messages equal the events probed
     exported to its JSON-lines file, one for one.
  4. rsyslogd restarted while events flow: every event is sent or counted as dropped,
     events reach the new receiver, and the figures (sent, dropped, received, duplicated,
     missing) are printed.  Syslog has no acknowledgement, so what rsyslogd had not read
     when it went away is lost without a count (output_syslog.c sends the last batch
     again after a reset, which covers the usual case): the events missing must be
     events of the restart, not of before or after.
  5. uprobe mode (events without the executable's path): APP-NAME is still the traced
     program, looked up by pid.

rsyslogd's RFC 5424 parser refuses years after 2100 (the driver has events in 2514):
those messages are checked in their raw form only.

usage: syslog_export.py BUILD_DIR   (run with /usr/bin/python3: it has python3-msgpack)
"""
import codecs
import datetime
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from syslog_rsyslog import (RSYSLOGD, Rsyslog, parse_sd, split_header,  # noqa: E402
                            split_sd_msg)

if not RSYSLOGD:
    print("SKIP: rsyslogd is not installed (apt-get install rsyslog)")
    sys.exit(0)

from sledtest import Daemon, Suite, cleanup_dir, isolate_dev_shm  # noqa: E402

try:
    from msgpack_python import STRINGS, expected_event, f32  # noqa: E402
except SystemExit as e:  # msgpack_python exits when python3-msgpack is missing
    sys.exit(str(e))

isolate_dev_shm()

build = sys.argv[1]
driver = os.path.join(build, "tests", "integration", "encode_driver")
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
sample_basic = os.path.join(build, "samples", "sample_basic")

RESERVED = {"provider", "name", "tid", "mode", "ts_ns", "truncated"}
SD_ID = "sled@32473"


def ts_text(ns):
    dt = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=ns // 10**9)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (ns % 10**9 // 1000)


def token(s, bad=""):
    """output_syslog.c's mapping to printable ASCII: one '_' per other character."""
    return "".join(c if 33 <= ord(c) <= 126 and c not in bad else "_" for c in s)


def trimmed(raw, truncated):
    """The bytes as text with ill-formed bytes as lone surrogates, and for a truncated
    string without a character the truncation cut."""
    dec = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    return dec.decode(raw, final=not truncated)


def sd_string(raw, truncated):
    """An SD value as we send it: one U+FFFD per ill-formed subpart (Python's "replace"
    agrees with ours), control characters but tab as \\n, \\r or \\xNN text, so
    that every message is one line."""
    if truncated:
        s = codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=False)
    else:
        s = raw.decode("utf-8", "replace")
    out = []
    for c in s:
        if c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F:
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def human_string(raw, truncated):
    out = []
    for c in trimmed(raw, truncated):
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif c in '"\\':
            out.append("\\" + c)
        elif c in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(c)
    return '"' + "".join(out) + '"' + ("..." if truncated else "")


def float_ok(text, want, single):
    if math.isnan(want):
        return text == "nan"
    if math.isinf(want):
        return text == ("inf" if want > 0 else "-inf")
    try:
        got = float(text)
    except ValueError:
        return False
    return (f32(got) if single else got) == want and ("." in text or "e" in text)


def expected_message(i, pri, host, app):
    """(header fields, [(sd name, value or checker)], MSG checker) of driver event i."""
    head, fields = expected_event(i)
    header = ["<%d>1" % pri, ts_text(head["ts"]), host, app, str(head["pid"]),
              (token(head["provider"]) + ":" + token(head["name"]))[:32]]
    params = [("provider", head["provider"]), ("name", head["name"]),
              ("tid", str(head["tid"]))]
    if "mode" in head:
        params.append(("mode", head["mode"]))
    params.append(("ts_ns", str(head["ts"])))
    msg = [head["provider"] + ":" + head["name"]]
    trunc = []
    for name, kind, want in fields:
        sdname = token(name, '=]",')[:32]
        if sdname in RESERVED:
            sdname = "_" + sdname
        if kind == "str":
            raw, t = want
            if raw is None:
                msg.append(name + "=NULL")
                continue
            params.append((sdname, sd_string(raw, t)))
            msg.append(name + "=" + human_string(raw, t))
            if t:
                trunc.append(sdname)
        elif kind == "bool":
            params.append((sdname, "true" if want else "false"))
            msg.append(name + "=" + ("true" if want else "false"))
        elif kind == "int":
            v = "0x%x" % want if name == "p" else str(want)
            params.append((sdname, v))
            msg.append(name + "=" + v)
        else:
            single = kind == "float32"
            params.append((sdname, lambda text, w=want, s=single: float_ok(text, w, s)))
            msg.append((name, lambda text, w=want, s=single: float_ok(text, w, s)))
    if trunc:
        params.append(("truncated", ",".join(trunc)))
    return header, params, msg


def check_params(got, want):
    errs = []
    if [n for n, _ in got] != [n for n, _ in want]:
        return ["SD names %r, expected %r" % ([n for n, _ in got], [n for n, _ in want])]
    for (n, v), (_, w) in zip(got, want):
        if not (w(v) if callable(w) else v == w):
            errs.append("SD %s=%r, expected %r" % (n, v, w if not callable(w) else "float"))
    return errs


def check_msg(got, want):
    """MSG against [prefix, 'name=value' or (name, checker)...]: values contain no
    spaces except in strings, which are checked exactly, so walk the expected list."""
    rest = got
    for k, w in enumerate(want):
        if k:
            if not rest.startswith(" "):
                return ["MSG %r: expected a space before %r" % (got, w)]
            rest = rest[1:]
        if isinstance(w, tuple):
            name, ok = w
            if not rest.startswith(name + "="):
                return ["MSG %r: expected %s=" % (got, name)]
            value = rest[len(name) + 1:].split(" ", 1)[0]
            if not ok(value):
                return ["MSG %s=%r" % (name, value)]
            rest = rest[len(name) + 1 + len(value):]
        else:
            if not rest.startswith(w):
                return ["MSG %r: expected %r at %r" % (got, w, rest[:60])]
            rest = rest[len(w):]
    return [] if rest == "" else ["MSG has more: %r" % rest]


def check_event(i, m, pri, host, app):
    """Differences between rsyslog's record m and driver event i."""
    header, params, msg = expected_message(i, pri, host, app)
    errs = []
    try:
        hdr, rest = split_header(m["raw"])
        sd_text, raw_msg = split_sd_msg(rest)
        sd = parse_sd(sd_text)
    except (ValueError, IndexError) as e:
        return ["raw message does not parse: %s: %r" % (e, m["raw"][:200])]
    if hdr != header:
        errs.append("header %r, expected %r" % (hdr, header))
    if len(sd) != 1 or sd[0][0] != SD_ID:
        return errs + ["SD elements %r" % ([x[0] for x in sd],)]
    errs += check_params(sd[0][1], params)
    errs += check_msg(raw_msg, msg)
    # rsyslog's own RFC 5424 parser (it refuses years after 2100: those stay raw only)
    if int(header[1][:4]) <= 2100:
        parsed = [m["pri"], m["host"], m["app"], m["procid"], m["msgid"]]
        want = [str(pri), host, app, header[4], header[5]]
        if parsed != want:
            errs.append("rsyslog parsed %r, expected %r" % (parsed, want))
        if m["sd"] != sd_text:
            errs.append("rsyslog SD %r differs from the raw one" % m["sd"][:100])
        if m["msg"] != raw_msg:
            errs.append("rsyslog MSG %r, expected %r" % (m["msg"][:100], raw_msg[:100]))
        if m["ts"] != header[1]:
            errs.append("rsyslog timestamp %r, expected %r" % (m["ts"], header[1]))
    return errs


def run_driver(n, *specs):
    return subprocess.run([driver, "write", str(n), *specs], capture_output=True, text=True,
                          timeout=60)


def driver_events(t, rs, proto, n, query, pri, host, app):
    spec = "%s://127.0.0.1:%d?%s" % (proto, rs.tcp_port if proto == "syslog" else rs.udp_port,
                                      query)
    r = run_driver(n, spec)
    t.check(r.returncode == 0 and "written %d acked 0 dropped 0" % n in r.stderr,
            "%s: the driver wrote %d events (%s)" % (proto, n, r.stderr.strip()))
    msgs = rs.wait_for(lambda m: m["raw"].split(" ", 4)[3:4] == [app], n)
    procids = [int(split_header(m["raw"])[0][4]) - 1000 for m in msgs]
    t.check(sorted(procids) == list(range(n)),
            "%s: rsyslog received each of the %d events once (%d messages)"
            % (proto, n, len(msgs)))
    bad = []
    for m, i in zip(msgs, procids):
        errs = check_event(i, m, pri, host, app) if 0 <= i < n else ["unknown event"]
        if errs:
            bad.append("event %d: %s" % (i, "; ".join(errs)))
    for b in bad[:5]:
        print("#   " + b[:600])
    t.check(not bad, "%s: every message has the right PRI, header, SD params and MSG "
            "(%d bad of %d)" % (proto, len(bad), len(msgs)))
    return msgs


def status_output(d, prefix):
    for o in d.status().get("outputs", []):
        if o["spec"].startswith(prefix):
            return o
    return None


def wait_output_idle(d, prefix, timeout=20):
    """Until the output has nothing queued and is connected (or timeout)."""
    deadline = time.time() + timeout
    while True:
        o = status_output(d, prefix)
        if (o and o["queued"] == 0 and o["state"] == "connected") or time.time() > deadline:
            return o
        time.sleep(0.1)


def sd_params(m):
    return dict(parse_sd(split_sd_msg(split_header(m["raw"])[1])[0])[0][1])


t = Suite()
rs = Rsyslog()
print("# rsyslogd %s: tcp %d, udp %d, dir %s" % (RSYSLOGD, rs.tcp_port, rs.udp_port, rs.dir))
daemons = []
try:
    # --- 1. known events through both transports
    driver_events(t, rs, "syslog", 1000, "app=drv-tcp&facility=local0&severity=notice",
                  16 * 8 + 5, os.uname().nodename, "drv-tcp")
    driver_events(t, rs, "syslog+udp", 300, "app=drv-udp&hostname=host.example&facility=7"
                  "&severity=debug", 7 * 8 + 7, "host.example", "drv-udp")
    # defaults: facility user, severity info, APP-NAME the program (the driver's events
    # name /opt/sled-test/bin/drv-app)
    driver_events(t, rs, "syslog", 20, "", 1 * 8 + 6, os.uname().nodename, "drv-app")
    t.check(len(STRINGS) == 9, "the driver's strings include quotes, backslashes, control "
            "characters, ill-formed UTF-8, NUL, NULL and truncated ones")

    # --- 2. bad options
    for query, want in [("colour=red", "syslog: unknown option 'colour' (queue, batch, "
                         "facility, severity, app, hostname, timeout_ms)"),
                        ("facility=local9", "syslog: bad facility 'local9'"),
                        ("severity=loud", "syslog: bad severity 'loud'"),
                        ("app=", "syslog: bad app ''"),
                        ("hostname=a%5db", None)]:
        r = run_driver(1, "syslog://127.0.0.1:%d?%s" % (rs.tcp_port, query))
        lines = r.stderr.strip().split("\n")
        if want:
            ok = (r.returncode != 0 and len(lines) == 1 and lines[0].startswith("Error: ")
                  and want in lines[0])
        else:  # printable ASCII is a valid HOSTNAME; options are not URL-decoded
            ok = r.returncode == 0
        t.check(ok, "option %s: %s" % (query, r.stderr.strip()))
    r = run_driver(1, "syslog://127.0.0.1:%d?app=%s" % (rs.tcp_port, "a" * 49))
    t.check(r.returncode != 0 and "bad app" in r.stderr, "an APP-NAME over 48 characters "
            "is refused (%s)" % r.stderr.strip())

    # --- 3. a real probed and a sample app: syslog carries what probed exported
    n = 200
    d = Daemon(probed, probectl, extra=[
        "-o", "syslog://127.0.0.1:%d?app=probed-tcp&facility=local4" % rs.tcp_port,
        "-o", "syslog+udp://127.0.0.1:%d?app=probed-udp" % rs.udp_port,
        "-o", "syslog://127.0.0.1:%d?facility=local5" % rs.tcp_port])
    daemons.append(d)
    probe_id = d.ctl_json("enable", "sample:request", "--pending")["id"]
    app = subprocess.Popen([sample_basic, str(n), "1"], stdout=subprocess.DEVNULL)
    app.wait(timeout=60)
    c = d.wait_drained(probe_id)
    evs = {e["args"]["id"]: e for e in d.events()
           if e["name"] == "request" and e["pid"] == app.pid}
    # The standing probe attaches while the app starts: its first events may come before.
    t.check(c and c["exported"] == len(evs) and c["dropped"] == 0 and len(evs) > n // 2,
            "probed exported %d of the app's %d sample:request events to its JSON file"
            % (len(evs), n))
    n = len(evs)
    # The third output names no app: APP-NAME is the traced program's.
    for proto, appname, pri in [("syslog://127.0.0.1:%d?app" % rs.tcp_port, "probed-tcp",
                                 20 * 8 + 6),
                                ("syslog+udp:", "probed-udp", 1 * 8 + 6),
                                ("syslog://127.0.0.1:%d?fac" % rs.tcp_port, "sample_basic",
                                 21 * 8 + 6)]:
        o = wait_output_idle(d, proto)
        t.check(o and o["sent"] == n and o["dropped"] == 0 and o["queued"] == 0,
                "%s status: sent %s, dropped %s, queued %s, state %s"
                % (proto, o and o["sent"], o and o["dropped"], o and o["queued"],
                   o and o["state"]))
        msgs = rs.wait_for(lambda m, a=appname: m["app"] == a, n)
        bad, seen = [], set()
        for m in msgs:
            sd = sd_params(m)
            e = evs.get(int(sd.get("id", -1)))
            if e is None:
                bad.append("no event for %r" % m["raw"][:100])
                continue
            seen.add(e["args"]["id"])
            want = {"provider": "sample", "name": "request", "tid": str(e["tid"]),
                    "mode": e.get("mode"), "ts_ns": str(e["ts"]), "id": str(e["args"]["id"]),
                    "twice": str(e["args"]["twice"]), "_name": e["args"]["name"]}
            got = {k: sd.get(k) for k in want}
            errs = [] if got == want else ["SD %r, expected %r" % (got, want)]
            if float(sd.get("latency", "nan")) != e["args"]["latency"]:
                errs.append("latency %r, expected %r" % (sd.get("latency"), e["args"]["latency"]))
            hdr = [m["pri"], m["procid"], m["msgid"], m["ts"]]
            want_hdr = [str(pri), str(app.pid), "sample:request",
                        ts_text(e["ts"])]
            if hdr != want_hdr:
                errs.append("header %r, expected %r" % (hdr, want_hdr))
            if not m["msg"].startswith("sample:request id=%d twice=%d name=\"%s\" latency="
                                       % (e["args"]["id"], e["args"]["twice"], e["args"]["name"])):
                errs.append("MSG %r" % m["msg"])
            if errs:
                bad.append("id %d: %s" % (e["args"]["id"], "; ".join(errs)))
        for b in bad[:5]:
            print("#   " + b)
        t.check(len(msgs) == n and len(seen) == n and not bad,
                "%s: %d messages for %d distinct events, each equal to probed's JSON "
                "(field 'name' as SD _name; %d bad)" % (proto, len(msgs), len(seen), len(bad)))
    d.stop()

    # --- 4. the receiver restarts while events flow
    n = 3000
    d = Daemon(probed, probectl, extra=[
        "-o", "syslog://127.0.0.1:%d?app=restart&batch=32" % rs.tcp_port])
    daemons.append(d)
    probe_id = d.ctl_json("enable", "sample:request", "--pending")["id"]
    app = subprocess.Popen([sample_basic, str(n), "1"], stdout=subprocess.DEVNULL)
    before = rs.wait_for(lambda m: m["app"] == "restart", 500, timeout=30)
    t_stop = time.time_ns()
    rs.stop()
    stopped_at = len([m for m in rs.messages() if m["app"] == "restart"])
    time.sleep(0.3)  # events keep coming while nobody listens
    rs.start()
    t_ready = time.time_ns()
    app.wait(timeout=60)
    c = d.wait_drained(probe_id)
    o = wait_output_idle(d, "syslog:")
    msgs = rs.wait_for(lambda m: m["app"] == "restart", o["sent"] if o else n, timeout=20,
                       stable=2)
    ids = [int(sd_params(m)["id"]) for m in msgs]
    distinct = set(ids)
    ts_of = {e["args"]["id"]: e["ts"] for e in d.events()
             if e["name"] == "request" and e["pid"] == app.pid}
    exported = set(ts_of)
    missing = sorted(exported - distinct)
    print("# restart: rsyslogd stopped after %d messages; probed exported %s; syslog output "
          "sent %s dropped %s queued %s state %s, last error %r; received %d messages, "
          "%d distinct, %d duplicated, %d missing %s"
          % (stopped_at, c and c["exported"], o and o["sent"], o and o["dropped"],
             o and o["queued"], o and o["state"], o and o["error"], len(ids), len(distinct),
             len(ids) - len(distinct), len(missing), missing[:20]))
    t.check(c and c["exported"] == len(exported) and c["dropped"] == 0,
            "probed exported %d of the app's %d events to its JSON file" % (len(exported), n))
    t.check(o and o["queued"] == 0 and o["sent"] + o["dropped"] == len(exported),
            "every event was sent or counted as dropped (sent %s + dropped %s)"
            % (o and o["sent"], o and o["dropped"]))
    t.check(max(distinct, default=0) == n and len(before) >= 500,
            "events reached the restarted receiver (the last id %d arrived)" % n)
    # Lost without a count (syslog has no ack): only what the receiver had not read when
    # it went away, so events of the restart only: emitted from shortly before the stop
    # (what was still on its way then) until the new receiver was up.  How many depends
    # on how long rsyslogd stops reading before it closes: printed above, not asserted.
    outside = [i for i in missing if not t_stop - 10**9 <= ts_of[i] <= t_ready]
    t.check(not outside, "the missing events are of the restart (%d missing, %d emitted "
            "outside the restart window %s)" % (len(missing), len(outside), outside[:10]))
    d.stop()

    # --- 5. uprobe mode: the events carry no path, APP-NAME comes from /proc by pid
    n = 20
    d = Daemon(probed, probectl, extra=[
        "-o", "syslog://127.0.0.1:%d?facility=local6" % rs.tcp_port])
    daemons.append(d)
    probe_id = d.ctl_json("enable", "sample:request", "--mode", "uprobe", "-b",
                          os.path.abspath(sample_basic))["id"]
    app = subprocess.Popen([sample_basic, str(n), "1"], stdout=subprocess.DEVNULL)
    app.wait(timeout=60)
    c = d.wait_drained(probe_id)
    exported = c["exported"] if c else 0
    msgs = rs.wait_for(lambda m: m["pri"] == str(22 * 8 + 6), exported)
    t.check(exported == n and len(msgs) == n
            and all(m["app"] == "sample_basic" and m["procid"] == str(app.pid)
                    and 'mode="uprobe"' in m["sd"] for m in msgs),
            "uprobe mode: APP-NAME is the traced program (%d events, %d messages, apps %s)"
            % (exported, len(msgs), sorted({m["app"] for m in msgs})))
    d.stop()
finally:
    for d in daemons:
        d.stop()
    rs.close()
    cleanup_dir(rs.dir, t.failed)
    for d in daemons:
        cleanup_dir(d.dir, t.failed)
t.finish()
