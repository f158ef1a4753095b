"""An LTTng-UST session for the benchmarks: lttng-sessiond started (and stopped) here as
root, one user-space channel with a list of events enabled, the trace written to tmpfs.

    why = lttng_unavailable(bench_lttng)     # None, or why the LTTng rows cannot run
    with LttngSession(["bench_lttng:hot"], pin=["taskset", "-c", "1"]) as s:
        ...                                  # processes started now record the events
    s.discarded                              # events LTTng discarded (buffers full)

The session daemon spawns lttng-consumerd, which inherits its CPU pinning: the consumer
runs out of the traced process, like probed.  A session daemon that was already running
is used and left running.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time


def lttng_unavailable(bench_lttng):
    """None when the LTTng rows can run, else a one-line reason."""
    if not os.path.exists(bench_lttng):
        return "bench_lttng was not built (install liblttng-ust-dev and re-run cmake)"
    for tool, pkg in (("lttng", "lttng-tools"), ("lttng-sessiond", "lttng-tools")):
        if not shutil.which(tool):
            return f"{tool} not found (install {pkg})"
    if os.geteuid() != 0:
        return "not root (the benchmark starts the root lttng-sessiond)"
    return None


def lttng(*args, check=True):
    return subprocess.run(["lttng", *args], capture_output=True, text=True, check=check)


class LttngSession:
    def __init__(self, events, pin=(), subbuf_size="1M", num_subbuf=4):
        self.events = events
        self.pin = list(pin)
        self.subbuf = (subbuf_size, num_subbuf)
        self.name = f"sledbench-{os.getpid()}"
        self.daemon = None
        self.dir = None
        self.discarded = None

    def __enter__(self):
        if lttng("list", check=False).returncode != 0:
            self.daemon = subprocess.Popen(self.pin + ["lttng-sessiond", "--no-kernel"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 10
            while lttng("list", check=False).returncode != 0:
                if self.daemon.poll() is not None or time.time() > deadline:
                    self._stop_daemon()
                    raise RuntimeError("lttng-sessiond did not start")
                time.sleep(0.05)
        try:
            self.dir = tempfile.mkdtemp(prefix="lttng-bench.", dir="/dev/shm")
            lttng("create", self.name, f"--output={self.dir}")
            lttng("enable-channel", "-u", "-s", self.name, "ch",
                  f"--subbuf-size={self.subbuf[0]}", f"--num-subbuf={self.subbuf[1]}")
            for ev in self.events:
                lttng("enable-event", "-u", "-s", self.name, "-c", "ch", ev)
            lttng("start", self.name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if lttng("stop", self.name, check=False).returncode == 0:
            listing = lttng("list", self.name, check=False).stdout
            m = re.search(r"Discarded events:\s*(\d+)", listing)
            self.discarded = int(m.group(1)) if m else None
        lttng("destroy", self.name, check=False)
        self._stop_daemon()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def _stop_daemon(self):
        if self.daemon:
            self.daemon.terminate()
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
            self.daemon = None
