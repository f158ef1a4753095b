"""A real rsyslogd for the syslog exporter's tests, and what the messages must look like.

Rsyslog runs in the foreground from a config file of its own in a temp dir (-f CONFIG,
-i PIDFILE, -n): imtcp and imudp on free loopback ports, no imuxsock or imklog, so it
never touches the system's logging.  Every message it receives becomes one JSON line
in out.jsonl holding the raw message and the RFC 5424 fields as rsyslog's own parser
saw them (pri, timestamp, hostname, app-name, procid, msgid, structured data, msg).
Control characters are kept on receive (parser.escapeControlCharactersOnReceive off),
so SD values can be compared byte for byte; probed sends none in SD values anyway."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

RSYSLOGD = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd"
                                        if os.path.exists("/usr/sbin/rsyslogd") else None)

FIELDS = ["pri", "ts", "host", "app", "procid", "msgid", "sd", "msg"]
PROPS = {"pri": "pri", "ts": "timereported", "host": "hostname", "app": "app-name",
         "procid": "procid", "msgid": "msgid", "sd": "structured-data", "msg": "msg"}


def free_port(kind):
    """A port nothing listens on now (TCP or UDP on 127.0.0.1)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_port_taken(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def tcp_port_answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Rsyslog:
    """rsyslogd on tcp_port and udp_port (chosen when not given), appending to out.
    With tls=(ca, cert, key) its TCP input speaks RFC 5425 (the "ossl" stream driver of
    Debian's rsyslog-openssl, clients not checked) and tls_clients=True asks clients for
    a certificate the CA signed."""

    def __init__(self, tcp_port=None, udp_port=None, directory=None, tls=None,
                 tls_clients=False):
        self.dir = directory or tempfile.mkdtemp(prefix="sledtest-syslog.")
        self.tcp_port = tcp_port or free_port(socket.SOCK_STREAM)
        self.udp_port = udp_port or free_port(socket.SOCK_DGRAM)
        self.out = os.path.join(self.dir, "out.jsonl")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        parts = []
        for key in FIELDS:
            prop = PROPS[key]
            extra = ' dateFormat="rfc3339"' if key == "ts" else ' format="json"'
            parts.append('constant(value="\\",\\"%s\\":\\"") property(name="%s"%s)'
                         % (key, prop, extra))
        template = ('template(name="sledjson" type="list") {\n'
                    '  constant(value="{\\"raw\\":\\"") property(name="rawmsg" format="json")\n  '
                    + "\n  ".join(parts) + '\n  constant(value="\\"}\\n")\n}\n')
        tls_global, tls_module = "", ""
        if tls:
            tls_global = ('\n       DefaultNetstreamDriverCAFile="%s"'
                          ' DefaultNetstreamDriverCertFile="%s"'
                          ' DefaultNetstreamDriverKeyFile="%s"' % tuple(tls))
            tls_module = (' StreamDriver.Name="ossl" StreamDriver.Mode="1"'
                          ' StreamDriver.AuthMode="%s"'
                          % ("x509/certvalid" if tls_clients else "anon"))
        with open(self.conf, "w") as f:
            f.write(
                'global(workDirectory="%s" maxMessageSize="128k"\n'
                '       parser.escapeControlCharactersOnReceive="off"%s)\n'
                'module(load="imtcp"%s)\n'
                'module(load="imudp")\n'
                'input(type="imtcp" address="127.0.0.1" port="%d" ruleset="sled")\n'
                'input(type="imudp" address="127.0.0.1" port="%d" ruleset="sled"'
                ' rcvbufSize="16m")\n'
                '%s'
                'ruleset(name="sled") { action(type="omfile" file="%s" template="sledjson") }\n'
                % (self.dir, tls_global, tls_module, self.tcp_port, self.udp_port, template,
                   self.out))
        self.log = open(os.path.join(self.dir, "rsyslogd.log"), "a")
        self.proc = None
        self.start()

    def start(self):
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while not (tcp_port_answers(self.tcp_port) and udp_port_taken(self.udp_port)):
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                with open(self.log.name) as f:
                    raise RuntimeError("rsyslogd did not start: " + f.read()[-2000:])
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        self.stop()
        self.log.close()

    def messages(self):
        """Every complete line of out.jsonl, decoded."""
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in data.split(b"\n")[:-1]]

    def wait_for(self, pred, count, timeout=20, stable=None):
        """Until count messages satisfy pred, or timeout, or (if stable) their number
        did not change for stable seconds: those messages."""
        deadline = time.time() + timeout
        last, since = -1, time.time()
        while True:
            got = [m for m in self.messages() if pred(m)]
            if len(got) != last:
                last, since = len(got), time.time()
            if (len(got) >= count or time.time() > deadline
                    or (stable and time.time() - since >= stable)):
                return got
            time.sleep(0.1)


def parse_sd(sd):
    """RFC 5424 STRUCTURED-DATA into [(sd_id, [(name, value)])]; raises ValueError."""
    out, i = [], 0
    if sd == "-":
        return out
    while i < len(sd):
        if sd[i] != "[":
            raise ValueError("expected '[' at %d" % i)
        j = i + 1
        while sd[j] not in " ]":
            j += 1
        sd_id, params, i = sd[i + 1:j], [], j
        while sd[i] == " ":
            eq = sd.index("=", i)
            name = sd[i + 1:eq]
            if sd[eq + 1] != '"':
                raise ValueError("expected '\"' after %s=" % name)
            k, val = eq + 2, []
            while sd[k] != '"':
                if sd[k] == "\\" and sd[k + 1] in '"\\]':
                    val.append(sd[k + 1])
                    k += 2
                else:  # RFC 5424: any other backslash is kept as it is
                    val.append(sd[k])
                    k += 1
            params.append((name, "".join(val)))
            i = k + 1
        if sd[i] != "]":
            raise ValueError("expected ']' at %d" % i)
        out.append((sd_id, params))
        i += 1
    return out


def split_header(raw):
    """The six header fields and the rest (SD and MSG) of a raw RFC 5424 message."""
    parts = raw.split(" ", 6)
    if len(parts) != 7:
        raise ValueError("short header: %r" % raw[:80])
    return parts[:6], parts[6]


def split_sd_msg(rest):
    """(SD text, MSG) of what follows the header: SD ends at the first ']' that is not
    escaped and is followed by ' ' or the end."""
    if rest.startswith("-"):
        return "-", rest[2:]
    k = 0
    while True:
        if rest[k] == "\\":
            k += 2
            continue
        if rest[k] == "]" and (k + 1 == len(rest) or rest[k + 1] in " ["):
            if k + 1 == len(rest) or rest[k + 1] == " ":
                return rest[:k + 1], rest[k + 2:]
        k += 1
