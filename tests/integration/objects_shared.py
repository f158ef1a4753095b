#!/usr/bin/env python3
"""probed holds the parsed sites of a file once, however many processes map it, and caps
what it holds.

Usage: objects_shared.py BUILD_DIR

An unprivileged user (sledtest) runs libsled processes that all link the same note-heavy
library (20,000 stapsdt notes: the most probed reads from one object, ~10 MB parsed).
Checks, with probed's VmRSS from /proc/PID/status:
  - its growth with 4 such processes attached is well under twice its growth with 1 (one
    copy per process would make it ~4x): a ratio, not a time;
  - status counts the same objects held for 4 processes as for 1, and none once they
    exit (the last process mapping an object frees it);
  - probes on the 4 processes still fire with exact events (ids 1..N, each once);
  - with --max-objects-memory below the library's parsed size, the library is refused
    with one line naming it, counted in status, and the process's own tracepoint is still
    traced exactly.
Run against another build with BUILD_DIR (e.g. the build of main, which holds one copy
per process): the ratio check fails there.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sledtest import (Daemon, Suite, isolate_dev_shm, notes_asm, start_app, stop_app,  # noqa: E402
                      wait_until)

if os.geteuid() != 0:
    print("SKIP: needs root")
    sys.exit(0)
isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
sdk = os.path.join(build, "sdk")
include = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include")
USER = "sledtest"
NOTES = int(os.environ.get("SLED_OBJECTS_NOTES", "20000"))  # more: a bigger file, same sites
EVENTS = 500
PROCS = 4

# Links the note library (mapped by the loader before libsled starts, so the daemon sees
# it at attach); fires objs:tick with 1..N once the go file exists, then waits.
APP = r'''
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <unistd.h>
#include <sled/tracepoint.h>
int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;

	while (access(argv[1], F_OK))
		usleep(10000);
	for (long i = 1; i <= n; i++)
		TRACEPOINT(objs, tick, i);
	for (;;)
		pause();
}
'''


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def daemon_figures(d):
    return d.status()["daemon"]


def ticks(d, pid):
    return [e["args"]["i"] for e in d.events() if e.get("name") == "tick" and e.get("pid") == pid]


t = Suite()
subprocess.run(f"id {USER} >/dev/null 2>&1 || useradd -M -r -s /usr/sbin/nologin {USER}",
               shell=True, check=True)
pw = pwd.getpwnam(USER)
work = tempfile.mkdtemp(prefix="sled-objects-")
os.chmod(work, 0o755)
drop = ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups"]
d = None
apps = []
try:
    asm = os.path.join(work, "notes.S")
    with open(asm, "w") as f:
        f.write(notes_asm(NOTES, "notes"))
    lib = os.path.join(work, "libnotes.so")
    subprocess.run(["cc", "-shared", "-nostdlib", asm, "-o", lib], check=True)
    src = os.path.join(work, "app.c")
    with open(src, "w") as f:
        f.write(APP)
    exe = os.path.join(work, "objs_app")
    with open(os.path.join(sdk, "libsled.so"), "rb") as f:
        sanitized = b"libasan.so" in f.read()  # an ASan build's runtime wants an ASan app
    subprocess.run(["cc", "-O2", *(["-fsanitize=address,undefined"] if sanitized else []),
                    "-I", include, src, "-o", exe, "-L" + sdk, "-L" + work,
                    "-Wl,-rpath," + sdk + ":" + work, "-Wl,--no-as-needed", "-lsled", "-lnotes"],
                   check=True)
    os.chown(lib, pw.pw_uid, pw.pw_gid)
    go = os.path.join(work, "go")

    def start():
        a = start_app(drop + [exe, go, str(EVENTS)])
        apps.append(a)
        return a

    # --- Phase 1: one process, then four.  Each is attached (and its objects read) by
    # the time its enable answers.
    d = Daemon(probed, probectl)
    base = rss_kib(d.proc.pid)
    first = start()
    ids = [d.ctl_json("enable", "objs:tick", "-p", str(first.pid))["id"]]
    one = rss_kib(d.proc.pid) - base
    fig1 = daemon_figures(d)
    for _ in range(PROCS - 1):
        a = start()
        ids.append(d.ctl_json("enable", "objs:tick", "-p", str(a.pid))["id"])
    four = rss_kib(d.proc.pid) - base
    fig4 = daemon_figures(d)
    print(f"# probed VmRSS {base} KiB at start; +{one} KiB with 1 process, +{four} KiB with "
          f"{PROCS} (objects held: {fig1.get('objects')} -> {fig4.get('objects')}, "
          f"{fig4.get('objects_bytes')} bytes)", flush=True)
    t.check(one > 5 * 1024, f"1 process mapping the {NOTES}-note library: probed grew by "
            f"{one} KiB (its sites parsed)")
    t.check(four < one * 3 // 2, f"{PROCS} processes: probed grew by {four} KiB, under 1.5x "
            f"the {one} KiB of 1 (one copy of the library's sites, not one per process)")
    t.check("objects" in fig1 and fig1.get("objects") == fig4.get("objects") and
            fig1.get("objects_bytes") == fig4.get("objects_bytes") and fig1["objects"] > 0,
            f"status: the same objects held for {PROCS} processes as for 1 "
            f"({fig1.get('objects')}, {fig1.get('objects_bytes')} bytes)")

    # --- The probes fire with exact events in every process.
    with open(go, "w"):
        pass
    pids = [a.pid for a in apps]
    wait_until(lambda: all(len(ticks(d, p)) >= EVENTS for p in pids), 120)
    for p in pids:
        got = ticks(d, p)
        t.check(got == list(range(1, EVENTS + 1)), f"process {p}: objs:tick ids 1..{EVENTS}, "
                f"each once ({len(got)} events)")
    for i in ids:
        c = d.wait_drained(i)
        t.check(c and c["hits"] == EVENTS and c["exported"] == EVENTS and c["dropped"] == 0,
                f"probe {i}: {EVENTS} hits, all exported ({c and {k: c[k] for k in ('hits', 'exported', 'dropped')}})")

    # --- The last process mapping the files gone, nothing is held.
    for a in apps:
        stop_app(a)
    apps.clear()
    wait_until(lambda: daemon_figures(d).get("objects") == 0, 20)
    left = daemon_figures(d)
    t.check(left.get("objects") == 0 and left.get("objects_bytes") == 0,
            f"every process gone: no object held ({left.get('objects')}, {left.get('objects_bytes')} bytes)")
    d.stop()
    d = None
    os.unlink(go)

    # --- Phase 2: a cap below the library's parsed size.
    d = Daemon(probed, probectl, extra=["--max-objects-memory", str(4 << 20)])
    a = start()
    i = d.ctl_json("enable", "objs:tick", "-p", str(a.pid))["id"]
    fig = daemon_figures(d)
    refused = fig.get("refused", {}).get("objects_memory", 0)
    t.check(refused >= 1 and fig.get("limits", {}).get("objects_memory") == 4 << 20,
            f"--max-objects-memory 4 MiB: the library is refused and counted ({refused})")
    t.check(fig.get("objects_bytes", 1 << 30) <= 4 << 20,
            f"what is held stays under the cap ({fig.get('objects_bytes')} bytes)")
    wait_until(lambda: "libnotes.so" in d.log_text(), 10)
    lines = [ln for ln in d.log_text().splitlines() if "libnotes.so" in ln]
    t.check(len(lines) == 1 and "--max-objects-memory (" in lines[0] and "20000 tracepoint sites" in lines[0] and
            lines[0].rstrip().endswith("KiB held)"),
            f"one log line names the library and the cap ({lines[:2]})")
    with open(go, "w"):
        pass
    wait_until(lambda: len(ticks(d, a.pid)) >= EVENTS, 120)
    got = ticks(d, a.pid)
    t.check(got == list(range(1, EVENTS + 1)),
            f"the process's own tracepoint is still traced exactly ({len(got)} events)")
    r = subprocess.run([probectl, "list", "-p", str(a.pid), "notes:*"], capture_output=True, text=True)
    t.check(r.returncode == 0 and "notes:tp" in r.stdout,
            "probectl list -p (its own cache, no cap set) still lists the library's sites")
    t.check(d.proc.poll() is None, "probed is alive")
finally:
    for a in apps:
        stop_app(a)
    if d:
        d.stop()
        if t.failed:
            print(d.log_text()[-4000:])
    shutil.rmtree(work, ignore_errors=True)
t.finish()
