"""Helpers for the sled-mode integration tests: a real probed on a private socket, real
sample processes, probectl for every command, and checks that print one line each.

Tests import this module, build a Suite, and end with suite.finish()."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SITE_OFF = bytes([0x90, 0x0F, 0x1F, 0x44, 0x00, 0x00])


class Suite:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print("ok   " + what, flush=True)
        else:
            self.failed += 1
            print("FAIL " + what, flush=True)
        return ok

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


def is_loss_record(e):
    """probed's record of a probe's drops (provider "sled", name "lost"), not an app event."""
    return e.get("provider") == "sled" and e.get("name") == "lost"


class Daemon:
    """probed on a private socket writing JSON lines to a file."""

    def __init__(self, probed, probectl, extra=()):
        self.probed, self.probectl = probed, probectl
        self.dir = tempfile.mkdtemp(prefix="sledtest.")
        self.socket = os.path.join(self.dir, "probed.sock")
        self.events_path = os.path.join(self.dir, "events.jsonl")
        self.log = open(os.path.join(self.dir, "probed.log"), "w")
        self.proc = subprocess.Popen(
            [probed, "-v", "-S", self.socket, "-o", "jsonl:" + self.events_path, *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not os.path.exists(self.socket):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("probed did not start: " + self.log_text())
            time.sleep(0.01)

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def ctl(self, *args, check=True):
        r = subprocess.run([self.probectl, "-S", self.socket, *args], capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"probectl {' '.join(args)} failed: {r.stderr.strip()}")
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def status(self):
        return self.ctl_json("status")

    def probe_counts(self, probe_id):
        for p in self.status()["probes"]:
            if p["id"] == probe_id:
                return p
        return None

    def wait_drained(self, probe_id, timeout=10):
        """Until emitted == exported + dropped and the figures stop moving."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            c = self.probe_counts(probe_id)
            if c and c["emitted"] == c["exported"] + c["dropped"] and c == last:
                return c
            last = c
            time.sleep(0.1)
        return last

    def events(self, losses=False):
        """The exported events; probed's own sled:lost records (a probe's drops in the last
        interval) only with losses=True."""
        out = []
        try:
            with open(self.events_path) as f:
                for line in f:
                    e = json.loads(line)
                    if losses or not is_loss_record(e):
                        out.append(e)
        except FileNotFoundError:
            pass
        return out

    def kill(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        self.kill()
        self.log.close()


def start_app(argv, wait_for_block=True):
    """Start a process that links libsled and wait until its shared block exists."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    if wait_for_block:
        path = f"/dev/shm/sled.{p.pid}"
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.01)
    return p


def block_path(pid):
    """The path that opens pid's shared block (a memfd: /proc/PID/map_files/START-END, as
    root), or None when it maps none."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                if line.rstrip().endswith("/memfd:sled (deleted)"):
                    return f"/proc/{pid}/map_files/{line.split()[0]}"
    except OSError:
        pass
    return None


def read_mem(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(n)


def site_addresses(probectl, pid, pattern):
    r = subprocess.run([probectl, "list", "--json", "-p", str(pid), pattern],
                       capture_output=True, text=True, check=True)
    return [s["address"] for row in json.loads(r.stdout) for s in row["sites"]]


def stop_app(p):
    if p.poll() is None:
        p.kill()
    p.wait()


# --- Helpers for the robustness tests (sled_stress, sled_redzone, sled_daemon_killed,
# sled_app_crash, sled_fork).  They need python3-msgpack only when CtlClient is used.

def is_jmp_site(b):
    """A tracepoint site whose sled is patched: 90 e9 <rel32>."""
    return len(b) == 6 and b[0] == 0x90 and b[1] == 0xE9


def wait_until(pred, timeout, interval=0.02):
    """Poll pred() until it returns something true or timeout seconds pass.
    Returns (value, seconds waited)."""
    t0 = time.monotonic()
    while True:
        v = pred()
        if v or time.monotonic() - t0 >= timeout:
            return v, time.monotonic() - t0
        time.sleep(interval)


def pid_running(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def read_events(path):
    """Every complete JSON line of an events file (a line still being written, with no
    newline yet, is left out).  Returns (events, malformed_lines)."""
    out, bad = [], []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out, bad
    lines = data.split(b"\n")
    for line in lines[:-1]:  # the last piece has no newline yet (or is empty)
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict):
                raise ValueError("not an object")
            out.append(ev)
        except ValueError:
            bad.append(line[:200])
    return out, bad


def site_info(probectl, pid, pattern):
    """[(address, file_offset, object path)] of every site matching pattern in pid."""
    r = subprocess.run([probectl, "list", "--json", "-p", str(pid), pattern],
                       capture_output=True, text=True, check=True)
    return [(s["address"], s["file_offset"], row["object"])
            for row in json.loads(r.stdout) for s in row["sites"]]


def file_bytes(path, offset, n):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def socket_answers(path):
    """True if something accepts connections on the unix socket at path."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class CtlClient:
    """One connection to probed speaking the control protocol of probed/ctl/ctl.h
    directly: each request is one msgpack map, each reply one map with "ok"."""

    def __init__(self, socket_path, timeout=30):
        import socket
        import msgpack
        self._msgpack = msgpack
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path)
        self.unpacker = msgpack.Unpacker(raw=False)

    def request(self, **req):
        self.sock.sendall(self._msgpack.packb(req, use_bin_type=True))
        while True:
            for msg in self.unpacker:
                return msg
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("probed closed the control connection")
            self.unpacker.feed(data)

    def pipeline(self, *reqs):
        """Send every request at once, then read one reply per request, in order."""
        self.sock.sendall(b"".join(self._msgpack.packb(r, use_bin_type=True) for r in reqs))
        out = []
        while len(out) < len(reqs):
            for msg in self.unpacker:
                out.append(msg)
                if len(out) == len(reqs):
                    break
            else:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("probed closed the control connection")
                self.unpacker.feed(data)
        return out

    def close(self):
        self.sock.close()


class DaemonAt(Daemon):
    """probed on a given socket path and events file, e.g. a second daemon started on the
    socket a killed one left behind.  Waits until the socket answers."""

    def __init__(self, probed, probectl, socket_path, events_path, extra=()):
        self.probed, self.probectl = probed, probectl
        self.dir = tempfile.mkdtemp(prefix="sledtest.")
        self.socket = socket_path
        self.events_path = events_path
        self.log = open(os.path.join(self.dir, "probed.log"), "w")
        self.proc = subprocess.Popen(
            [probed, "-v", "-S", self.socket, "-o", "jsonl:" + self.events_path, *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not socket_answers(self.socket):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("probed did not start: " + self.log_text())
            time.sleep(0.01)


def isolate_dev_shm():
    """Re-run this script in a private mount namespace with its own tmpfs on /dev/shm, so
    that probed daemons of other test runs on the machine never see (attach to, own,
    drain) this test's processes, and this test's daemon never sees theirs.  Does
    nothing when already isolated, or when unshare is impossible (not root): then it
    says so."""
    if os.environ.get("SLED_TEST_ISOLATED"):
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("# not isolated: /dev/shm is shared with other processes on this machine", flush=True)
        return
    env = dict(os.environ, SLED_TEST_ISOLATED="1")
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        print("# not isolated: unshare --mount is not permitted here", flush=True)
        return
    script = ('mount -t tmpfs -o mode=1777,size=2g sled-test-shm /dev/shm || '
              'echo "# not isolated: cannot mount a private /dev/shm"; exec "$0" "$@"')
    argv = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
            sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]]
    r = subprocess.run(argv, env=env)
    sys.exit(r.returncode)


def probe_counts_settled(status, probe_id, timeout=10):
    """Poll status() (a function returning a status reply) until the probe's figures
    balance (emitted == exported + dropped) and stop moving, or stop moving for half a
    second without balancing.  Returns the last figures (None if the probe is unknown)."""
    deadline = time.time() + timeout
    last, same = None, 0
    while time.time() < deadline:
        c = next((p for p in status()["probes"] if p["id"] == probe_id), None)
        same = same + 1 if c is not None and c == last else 0
        if c is not None and ((same >= 1 and c["emitted"] == c["exported"] + c["dropped"])
                              or same >= 5):
            return c
        last = c
        time.sleep(0.1)
    return last


def raise_priority(pid=0, nice=-5):
    """Lower the niceness of pid (0: this process) when allowed (root): control-plane
    timings then depend less on whatever else loads the machine."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
        return True
    except OSError:
        return False


def sample_lines(path, n):
    """Up to n complete lines spread evenly over a (possibly huge) file."""
    size = os.path.getsize(path) if os.path.exists(path) else 0
    out = []
    if not size:
        return out
    with open(path, "rb") as f:
        for k in range(n):
            f.seek(size * k // n)
            if k:
                f.readline()  # the rest of the line the seek landed in
            line = f.readline()
            if line.endswith(b"\n"):
                out.append(line)
    return out


def count_lines(path):
    n = 0
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 24)
            if not block:
                return n
            n += block.count(b"\n")


def read_mem_or_none(pid, addr, n):
    """read_mem, or None when the process is gone or the address unreadable."""
    try:
        return read_mem(pid, addr, n)
    except OSError:
        return None


def cleanup_dir(path, failed, keep_below=64 << 20):
    """After a test: remove its directory, or when it failed keep it for a post-mortem
    but delete the files larger than keep_below (event files run to hundreds of MiB)."""
    if not failed:
        shutil.rmtree(path, ignore_errors=True)
        return
    for name in os.listdir(path):
        f = os.path.join(path, name)
        try:
            if os.path.getsize(f) >= keep_below:
                os.unlink(f)
        except OSError:
            pass
    print(f"# kept {path}", flush=True)


class EventsTail:
    """An events file read as it grows: lines() returns the complete lines written since
    the last call (from the file's end at construction when from_end)."""

    def __init__(self, path, from_end=False):
        self.path, self.partial = path, b""
        self.offset = os.path.getsize(path) if from_end and os.path.exists(path) else 0

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(64 << 20)
        except FileNotFoundError:
            return []
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        return lines


def wait_for_each(tail, key, want, timeout=120):
    """Read tail until key(line) has given every value of want (key returns None for a
    line of no interest), or timeout seconds pass: synchronises on events, whatever the
    machine's speed (the timeout is a bound for a hung test, not a speed requirement).
    Returns the set of values seen."""
    seen, t0 = set(), time.monotonic()
    while not set(want) <= seen and time.monotonic() - t0 < timeout:
        lines = tail.lines()
        for line in lines:
            k = key(line)
            if k is not None:
                seen.add(k)
        if not lines:
            time.sleep(0.02)
    return seen


def notes_asm(n, provider):
    """Assembly for an object with n stapsdt notes, provider:tp each, all at one
    instruction: a file whose notes cost probed memory and nothing else."""
    return f'''
	.text
	.globl tp_text
tp_text:
	nop
	ret
	.section .note.stapsdt,"?","note"
	.rept {n}
	.balign 4
	.4byte 8
	.4byte 2f-1f
	.4byte 3
	.asciz "stapsdt"
1:	.8byte tp_text
	.8byte 0
	.8byte 0
	.asciz "{provider}"
	.asciz "tp"
	.asciz "8@%rax"
2:	.balign 4
	.endr
'''
