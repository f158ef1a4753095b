#!/usr/bin/env python3
"""Uprobe mode on machines that lack what it needs, each simulated for probed alone in a
private mount namespace (the machine's own mounts are never touched):

  - no uprobe PMU and no tracefs mounted: probed mounts tracefs, says so in one line, and
    uprobe mode works through tracefs's uprobe_events (libbpf's legacy path);
  - no uprobes at all (no PMU, no tracefs to be had): enable --mode uprobe fails with one
    clear line, and sled mode keeps working in the same daemon.

Usage: uprobe_tracefs.py BUILD_DIR
"""
import os
import shlex
import shutil
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, start_app, stop_app  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
basic = os.path.join(build, "samples", "sample_basic")

t = Suite()
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()
if not os.path.exists("/sys/bus/event_source/devices/uprobe/type"):
    print("SKIP: this kernel has no uprobe PMU to hide")
    t.finish()

tmp = tempfile.mkdtemp(prefix="uprobe_tracefs.")
empty = os.path.join(tmp, "empty")
os.mkdir(empty)

# Unmount every tracefs/debugfs, and hide the uprobe PMU (libbpf then takes tracefs).
HIDE = (f"for m in $(awk '$3 == \"tracefs\" || $3 == \"debugfs\" {{print $2}}' /proc/mounts | sort -r); "
        f"do umount \"$m\" || exit 1; done; "
        f"mount --bind {empty} /sys/devices/uprobe || exit 1; ")
# Also take tracefs and debugfs away for good: a read-only empty /sys/kernel, with the
# kernel's BTF put back (uprobe mode needs it before it looks for uprobes).
NO_TRACEFS = (f"mkdir -p {tmp}/btf && mount --bind /sys/kernel/btf {tmp}/btf && "
              f"mount -t tmpfs -o size=1m none /sys/kernel && mkdir /sys/kernel/btf && "
              f"mount --bind {tmp}/btf /sys/kernel/btf && mount -o remount,ro /sys/kernel || exit 1; ")


def wrapper(name, setup):
    """An executable that runs probed in a private mount namespace after setup."""
    path = os.path.join(tmp, name)
    script = setup + 'exec "$0" "$@"'
    with open(path, "w") as f:
        f.write("#!/bin/sh\n")
        f.write(f"exec unshare --mount --propagation private -- /bin/sh -c {shlex.quote(script)} "
                f"{shlex.quote(os.path.abspath(probed))} \"$@\"\n")
    os.chmod(path, stat.S_IRWXU)
    return path


def host_tracefs():
    with open("/proc/mounts") as f:
        return sorted(line.split()[1] for line in f if line.split()[2] in ("tracefs", "debugfs"))


host_before = host_tracefs()
apps = []
d = None
try:
    # --- no PMU, no tracefs: mounted on demand, and uprobe mode works through it.
    d = Daemon(wrapper("probed_no_tracefs", HIDE), probectl)
    app = start_app([basic, "100000000", "1"])
    apps.append(app)
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--mode", "uprobe", check=False)
    t.check(r.returncode == 0, f"uprobe mode enabled without a uprobe PMU ({(r.stdout + r.stderr).strip()})")
    log = d.log_text()
    lines = [ln for ln in log.splitlines() if "mounted tracefs at /sys/kernel/tracing" in ln]
    t.check(len(lines) == 1, f"probed says once that it mounted tracefs ({lines})")
    deadline = time.time() + 10
    evs = []
    while time.time() < deadline and len(evs) < 20:
        evs = [e for e in d.events() if e["name"] == "request" and e["pid"] == app.pid]
        time.sleep(0.1)
    ids = [e["args"]["id"] for e in evs]
    t.check(len(ids) >= 20 and ids == list(range(ids[0], ids[0] + len(ids))),
            f"events arrive through tracefs's uprobe_events ({len(ids)}, consecutive)")
    d.stop()
    d = None
    t.check(host_tracefs() == host_before, "the machine's own mounts are untouched")

    # --- no uprobes at all: one clear error, and sled mode still works.
    d = Daemon(wrapper("probed_no_uprobes", HIDE + NO_TRACEFS), probectl)
    r = d.ctl("enable", "sample:request", "-p", str(app.pid), "--mode", "uprobe", check=False)
    err = r.stderr.strip()
    t.check(r.returncode == 1 and len(err.splitlines()) == 1 and "uprobe mode unavailable" in err
            and "no uprobe" in err, f"enable --mode uprobe fails with one clear line ({err})")
    before = len(d.events())
    sl = d.ctl_json("enable", "sample:request", "-p", str(app.pid), "--mode", "sled")["id"]
    time.sleep(0.5)
    c = d.ctl_json("disable", str(sl))["final"][0]
    evs = [e for e in d.events()[before:] if e["name"] == "request" and e["pid"] == app.pid]
    t.check(c["exported"] > 0 and len(evs) == c["exported"],
            f"sled mode keeps working in the same daemon ({len(evs)} events)")
    # --mode auto with no scope: the sled part stands, the reply says why there are no uprobes.
    r = d.ctl("enable", "sample:request", check=False)
    st = d.status()
    t.check(r.returncode == 0 and "enabled at 1 of 1 site" in r.stdout and "uprobe mode unavailable" in r.stderr
            and [p["mode"] for p in st["probes"]] == ["sled"] and st["probes"][0]["sled_processes"] == 1,
            f"a no-scope enable keeps its sled part and says why it has no uprobes ({(r.stdout + r.stderr).strip()})")
    d.ctl("disable", "sample:request")
finally:
    for a in apps:
        stop_app(a)
    if d:
        d.stop()
        if t.failed:
            print(d.log_text())
    shutil.rmtree(tmp, ignore_errors=True)
t.finish()
