#!/usr/bin/env python3
"""Uprobe mode at scale: a program with 300 distinct tracepoints, 40 processes of it (30
running before the enable, 10 started after), one `enable -b` in uprobe mode.  probed
starts with a soft RLIMIT_NOFILE of 256, fewer than the 600 fds the attaches need (2 per
site): it must raise the limit, say so, and trace every tracepoint in every process; and
give the fds back after the disable.

Usage: uprobe_scale.py BUILD_DIR CC INCLUDE_DIR
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, stop_app  # noqa: E402

isolate_dev_shm()

build, cc, include = sys.argv[1:4]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")

SITES, BEFORE, AFTER, ROUNDS = 300, 30, 10, 3

t = Suite()
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()

tmp = tempfile.mkdtemp(prefix="uprobe_scale.")
src, app_path, go = (os.path.join(tmp, n) for n in ("scale_app.c", "scale_app", "go"))
with open(src, "w") as f:
    f.write("#define _DEFAULT_SOURCE\n#include <sled/tracepoint.h>\n#include <stdlib.h>\n"
            "#include <sys/stat.h>\n#include <unistd.h>\n\n"
            "/* Waits for the file argv[1], then hits each tracepoint argv[2] times. */\n"
            "int main(int argc, char **argv)\n{\n\tstruct stat st;\n\tlong rounds;\n\n"
            "\tif (argc < 3)\n\t\treturn 2;\n\trounds = atol(argv[2]);\n"
            "\twhile (stat(argv[1], &st) != 0)\n\t\tusleep(10000);\n"
            "\tfor (long r = 0; r < rounds; r++) {\n")
    for k in range(SITES):
        f.write(f"\t\tTRACEPOINT(scale, tp{k}, r);\n")
    f.write("\t}\n\treturn 0;\n}\n")
subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-I", include, src, "-o", app_path], check=True)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


d = Daemon(probed, probectl)
apps = []
try:
    hard = resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (256, hard))
    apps += [subprocess.Popen([app_path, go, str(ROUNDS)]) for _ in range(BEFORE)]
    fds0 = fd_count(d.proc.pid)
    r = d.ctl_json("enable", "scale:*", "--mode", "uprobe", "-b", app_path)
    fds1 = fd_count(d.proc.pid)
    soft = resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE)[0]
    t.check(r["attached"] == SITES and "failed" not in r,
            f"every tracepoint attached: {r['attached']} of {SITES} ({r.get('error', 'no error')})")
    t.check(r["fds"] == 2 * SITES and fds1 - fds0 >= 2 * SITES,
            f"fd use: {r['fds']} held by the attaches (2 per site), probed went from {fds0} to {fds1} fds")
    raised = [ln for ln in d.log_text().splitlines() if "RLIMIT_NOFILE raised from 256" in ln]
    t.check(soft > 2 * SITES and len(raised) == 1,
            f"RLIMIT_NOFILE raised from 256 to {soft} and reported ({raised})")
    apps += [subprocess.Popen([app_path, go, str(ROUNDS)]) for _ in range(AFTER)]
    time.sleep(0.2)
    open(go, "w").close()
    for a in apps:
        a.wait(timeout=30)
    fin = d.ctl_json("disable", str(r["id"]))["final"][0]
    # disable answers at once; the kernel unregisters the uprobes in the background, one
    # grace period each (~0.1 s a site here), and the fds come back as it goes.
    t_dis = time.monotonic()
    fds2 = fd_count(d.proc.pid)
    while fds1 - fds2 < 2 * SITES and time.monotonic() - t_dis < 50:
        time.sleep(0.5)
        fds2 = fd_count(d.proc.pid)
    t.check(fds1 - fds2 >= 2 * SITES, f"the fds come back after the disable: {fds1} fds with the probe on, "
            f"{fds2} {time.monotonic() - t_dis:.0f} s after the disable (BPF object loaded: {fds1 - 2 * SITES})")
    want = {f"tp{k}" for k in range(SITES)}
    by_pid = {a.pid: {} for a in apps}
    for e in d.events():
        if e["provider"] == "scale" and e["pid"] in by_pid:
            by_pid[e["pid"]].setdefault(e["name"], []).append(e["args"]["r"])
    full = [pid for pid, names in by_pid.items()
            if set(names) == want and all(v == list(range(ROUNDS)) for v in names.values())]
    t.check(len(full) == len(apps),
            f"every process traced, every tracepoint {ROUNDS} times in order: {len(full)} of {len(apps)} processes")
    total = len(apps) * SITES * ROUNDS
    t.check(fin["hits"] == total and fin["exported"] == total and fin["dropped"] == 0,
            f"final figures: {fin['hits']} hits, {fin['exported']} exported, {fin['dropped']} dropped "
            f"(expected {total})")
finally:
    for a in apps:
        stop_app(a)
    d.stop()
    if t.failed:
        print(d.log_text())
    shutil.rmtree(tmp, ignore_errors=True)
t.finish()
