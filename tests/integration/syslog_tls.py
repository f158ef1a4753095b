#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""syslog+tls:// (RFC 5425) against a real rsyslogd with its OpenSSL stream driver, with
a test CA made here by the openssl command (tls_certs.py).

  1. encode_driver's events over TLS, checked by name (localhost) and by address
     (127.0.0.1), with a client certificate to an rsyslogd that requires one, and with
     insecure=1 and the wrong CA (delivered: no check only when asked): every event
     arrives once and rsyslog's RFC 5424 parser reads each header.
  2. Bad TLS options: one-line errors at start, before anything connects.
  3. A real probed and a sample app with five outputs: the right CA (delivered), the
     wrong CA, the wrong host name, no client certificate where one is required, and a
     plain TCP listener that does not speak TLS.  Each failing one shows the reason in
     `probectl status` and sends nothing: rsyslogd logs no message of theirs, and the
     listener got only a TLS ClientHello, no event text.

usage: syslog_tls.py BUILD_DIR   (Debian: rsyslog, rsyslog-openssl, openssl)
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from syslog_rsyslog import RSYSLOGD, Rsyslog, split_header  # noqa: E402
from sledtest import Daemon, Suite, cleanup_dir, isolate_dev_shm  # noqa: E402
from tls_certs import OPENSSL, make_test_ca  # noqa: E402

OSSL_MODULE = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so"
if not RSYSLOGD or not os.path.exists(OSSL_MODULE) or not OPENSSL:
    print("SKIP: needs rsyslogd, its OpenSSL driver and openssl "
          "(apt-get install rsyslog rsyslog-openssl openssl)")
    sys.exit(0)
isolate_dev_shm()

build = sys.argv[1]
driver = os.path.join(build, "tests", "integration", "encode_driver")
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
sample_basic = os.path.join(build, "samples", "sample_basic")


class PlainListener:
    """A TCP listener on 127.0.0.1 that answers nothing and keeps every byte it got."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.data, self.conns = [], 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                b = b""
            if not b:
                c.close()
                return
            self.data.append(b)

    def close(self):
        self.sock.close()


def run_driver(n, spec):
    return subprocess.run([driver, "write", str(n), spec], capture_output=True, text=True,
                          timeout=60)


def delivered(t, rs, what, host, query, app, n=50):
    spec = "syslog+tls://%s:%d?%s&app=%s" % (host, rs.tcp_port, query, app)
    r = run_driver(n, spec)
    t.check(r.returncode == 0 and "written %d acked 0 dropped 0" % n in r.stderr,
            "%s: the driver wrote %d events (%s)" % (what, n, r.stderr.strip()))
    # By the raw APP-NAME: rsyslogd's parser refuses the driver's events after 2100.
    msgs = rs.wait_for(lambda m: m["raw"].split(" ", 4)[3:4] == [app], n)
    procids = sorted(int(split_header(m["raw"])[0][4]) - 1000 for m in msgs)
    bad = [m["raw"][:120] for m in msgs if int(split_header(m["raw"])[0][1][:4]) <= 2100
           and not (m["pri"] == "14" and m["app"] == app and 'ts_ns="' in m["sd"]
                    and m["msgid"] in ("app:odd", "app:even", "caf_:odd", "caf_:even"))]
    t.check(procids == list(range(n)) and not bad,
            "%s: rsyslogd received each of the %d events once over TLS and parsed them "
            "(%d messages, %d bad %s)" % (what, n, len(msgs), len(bad), bad[:1]))


def output(d, app):
    for o in d.status().get("outputs", []):
        if "app=%s" % app in o["spec"]:
            return o
    return None


t = Suite()
tmp = tempfile.mkdtemp(prefix="sledtest-tls.")
certs = make_test_ca(tmp)
ca, other = certs["ca.pem"], certs["other-ca.pem"]
server = (ca, certs["receiver.pem"], certs["receiver.key"])
client = "cert=%s&key=%s" % (certs["client.pem"], certs["client.key"])
rs = Rsyslog(tls=server)
rs_mutual = Rsyslog(tls=server, tls_clients=True)
plain = PlainListener()
print("# rsyslogd TLS on %d, TLS with client certificates on %d, plain listener on %d"
      % (rs.tcp_port, rs_mutual.tcp_port, plain.port))
d = None
try:
    # --- 1. delivered
    delivered(t, rs, "by address", "127.0.0.1", "ca=" + ca, "tls-ip")
    delivered(t, rs, "by name", "localhost", "ca=" + ca, "tls-name")
    delivered(t, rs, "a CA directory", "localhost", "ca=" + tmp, "tls-dir") \
        if subprocess.run([OPENSSL, "rehash", tmp], capture_output=True).returncode == 0 \
        else None
    delivered(t, rs_mutual, "client certificate", "127.0.0.1", "ca=%s&%s" % (ca, client),
              "tls-client")
    delivered(t, rs, "insecure=1 with the wrong CA", "127.0.0.1", "ca=%s&insecure=1" % other,
              "tls-insecure")

    # --- 2. bad options
    for query, want in [
            ("ca=/nonexistent/ca.pem", "syslog+tls: ca '/nonexistent/ca.pem': No such file"),
            ("insecure=2", "syslog+tls: bad insecure '2': expected 0 or 1"),
            ("key=" + certs["client.key"], "syslog+tls: key= needs cert="),
            ("cert=" + certs["client.key"], "syslog+tls: cert '%s'" % certs["client.key"]),
            ("cert=%s&key=%s" % (certs["client.pem"], certs["receiver.key"]),
             "syslog+tls: key '%s'" % certs["receiver.key"]),
            ("ca=" + certs["client.key"], "syslog+tls: ca '%s': no certificate read"
             % certs["client.key"]),
            ("sni=x", "syslog+tls: unknown option 'sni' (queue, batch, facility, severity, "
             "app, hostname, timeout_ms, ca, cert, key, server_name, insecure)"),
            ("ca=", "syslog+tls: ca needs a value")]:
        r = run_driver(1, "syslog+tls://127.0.0.1:%d?%s" % (rs.tcp_port, query))
        lines = r.stderr.strip().split("\n")
        t.check(r.returncode != 0 and len(lines) == 1 and lines[0].startswith("Error: " + want),
                "%s: %s" % (query, r.stderr.strip()))

    # --- 3. probed: what fails says why in status and sends nothing
    outs = {
        "tls-daemon": "syslog+tls://127.0.0.1:%d?ca=%s" % (rs.tcp_port, ca),
        "tls-wrong-ca": "syslog+tls://127.0.0.1:%d?ca=%s" % (rs.tcp_port, other),
        "tls-wrong-name": "syslog+tls://localhost:%d?ca=%s&server_name=elsewhere.example"
                          % (rs.tcp_port, ca),
        "tls-no-client-cert": "syslog+tls://127.0.0.1:%d?ca=%s" % (rs_mutual.tcp_port, ca),
        "tls-plain": "syslog+tls://127.0.0.1:%d?ca=%s" % (plain.port, ca),
    }
    extra = []
    for app, spec in outs.items():
        extra += ["-o", spec + "&app=" + app]
    d = Daemon(probed, probectl, extra=extra)
    probe_id = d.ctl_json("enable", "sample:request", "--pending")["id"]
    n = 50
    app = subprocess.Popen([sample_basic, str(n), "1"], stdout=subprocess.DEVNULL)
    app.wait(timeout=60)
    c = d.wait_drained(probe_id)
    exported = c["exported"] if c else 0
    want_errors = {
        # rsyslogd sends its CA with its certificate: "self-signed certificate in
        # certificate chain"; without it, "unable to get local issuer certificate"
        "tls-wrong-ca": "TLS handshake with 127.0.0.1:%d: certificate verify failed: "
                        % rs.tcp_port,
        "tls-wrong-name": "certificate verify failed: hostname mismatch for "
                          "elsewhere.example",
        # TLS 1.3: rsyslogd refuses us after our side of the handshake is over
        "tls-no-client-cert": "TLS handshake with 127.0.0.1:%d: TLS error: "
                              "error:0A00045C:SSL routines::tlsv13 alert certificate required"
                              % rs_mutual.tcp_port,
        "tls-plain": "TLS handshake with 127.0.0.1:%d: timed out" % plain.port,
    }
    deadline = time.time() + 20
    while True:
        st = {a: output(d, a) for a in outs}
        good = st["tls-daemon"]
        if ((good and good["sent"] == exported
             and all(st[a] and want in st[a]["error"] for a, want in want_errors.items()))
                or time.time() > deadline):
            break
        time.sleep(0.2)
    for a, o in st.items():
        print("# %-20s state %s sent %s dropped %s queued %s error %r"
              % (a, o and o["state"], o and o["sent"], o and o["dropped"], o and o["queued"],
                 o and o["error"]))
    t.check(exported > n // 2 and good and good["sent"] == exported,
            "the right CA: all %d events probed exported were sent" % exported)
    got = rs.wait_for(lambda m: m["app"] == "tls-daemon", exported)
    t.check(len(got) == exported, "rsyslogd received them (%d)" % len(got))
    for a, want in want_errors.items():
        o = st[a]
        t.check(o and o["sent"] == 0 and o["state"] in ("down", "connecting")
                and want in o["error"],
                "%s: nothing sent, status says %r" % (a, o and o["error"]))
    failing = [m["app"] for r in (rs, rs_mutual) for m in r.messages()
               if m["app"] in want_errors]
    t.check(not failing, "the receivers got no message from the outputs that failed (%d)"
            % len(failing))
    human = d.ctl("status").stdout
    t.check("certificate verify failed: hostname mismatch" in human,
            "probectl status (the table) shows the reason")
    d.stop()
    t.check(d.proc.returncode == 0, "probed exits cleanly on SIGTERM (%s)%s"
            % (d.proc.returncode, "" if d.proc.returncode == 0 else ": " + d.log_text()[-2000:]))
    raw = b"".join(plain.data)
    t.check(plain.conns >= 1 and raw[:2] == b"\x16\x03" and b"sample" not in raw
            and b"<14>1" not in raw,
            "the plain listener got a TLS ClientHello and no event in clear (%d bytes, %d "
            "connections)" % (len(raw), plain.conns))
finally:
    if d and d.proc.poll() is None:
        d.stop()
    rs.close()
    rs_mutual.close()
    plain.close()
    for x in (rs.dir, rs_mutual.dir) + ((d.dir,) if d else ()):
        cleanup_dir(x, t.failed)
    cleanup_dir(tmp, t.failed)
t.finish()
