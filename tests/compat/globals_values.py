#!/usr/bin/env python3
"""Arguments that are variables with static storage read the right values, in sled mode
and in uprobe mode.

Usage: globals_values.py BUILD_DIR SOURCE_DIR [MODE...]   (modes: sled uprobe; default both)

tp_globals.c is built by gcc and clang at -O0..-O3 as a PIE and a non-PIE executable, and
as a shared library loaded by a PIE (every build links libsled).  gcc writes the
variables as symbolic operands ("g_counter(%rip)", "8+g_conf(%rip)", "local_counter.3(%rip)",
"%fs:tls_count@tpoff", "g_arr(,%rax,8)"); every site must be listed, attach, and every
event must carry the values the program stored in that round (see tp_globals.c).
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from sledtest import (Daemon, Suite, isolate_dev_shm, read_events, start_app,  # noqa: E402
                      stop_app, wait_until)

isolate_dev_shm()

build, source = sys.argv[1], sys.argv[2]
modes = sys.argv[3:] or ["sled", "uprobe"]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
sdk = os.path.join(build, "sdk")
include = os.path.join(source, "include")
src = os.path.join(source, "tests", "compat", "tp_globals.c")
work = tempfile.mkdtemp(prefix="sled-globals-")

MAIN_FOR_LIB = r'''
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void tpg_round(int64_t r);
int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000, usec = argc > 2 ? atol(argv[2]) : 5000;
	for (long r = 1; r <= rounds; r++) {
		tpg_round(r);
		usleep((useconds_t)usec);
	}
	return 0;
}
'''


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(" ".join(argv) + ": " + r.stderr.strip())


def build_variants():
    """[(label, argv of the program, has_tls)]"""
    out = []
    main_c = os.path.join(work, "main_for_lib.c")
    with open(main_c, "w") as f:
        f.write(MAIN_FOR_LIB)
    link = ["-L" + sdk, "-Wl,-rpath," + sdk, "-Wl,--no-as-needed", "-lsled"]
    for cc in ("gcc", "clang"):
        for opt in ("-O0", "-O1", "-O2", "-O3"):
            for kind, flags in (("pie", ["-fPIE", "-pie"]), ("nopie", ["-fno-pie", "-no-pie"])):
                exe = os.path.join(work, f"tpg-{cc}{opt}-{kind}")
                run([cc, opt, *flags, "-I" + include, src, "-o", exe, *link])
                out.append((f"{cc} {opt} {kind}", [exe], True))
            lib = os.path.join(work, f"libtpg-{cc}{opt}.so")
            run([cc, opt, "-shared", "-fPIC", "-DTP_GLOBALS_SHARED", "-I" + include, src,
                 "-o", lib])
            exe = os.path.join(work, f"tpg-{cc}{opt}-lib")
            run([cc, "-O2", main_c, "-o", exe, lib, "-Wl,-rpath," + work, *link])
            out.append((f"{cc} {opt} shared library", [exe], False))
    return out


def check_event(e):
    """None if the event's values are those of one round, else what is wrong."""
    a, name = e["args"], e["name"]
    if name == "plain":
        r = a["g_counter"] - 100
        want = {"g_conf.b": -(200 + r), "g_arr[2]": 2000 + r, "g_arr[i]": 1000 * (r % 4) + r}
        bad = {k: a[k] for k, v in want.items() if a[k] != v}
        return None if r >= 1 and not bad else f"round {r}: {bad}"
    if name == "local":
        return None if a["local_counter"] >= 301 else f"local_counter {a['local_counter']}"
    if name == "tls":
        return None if a["tls_count"] == 400 + a["r"] else f"tls {a['tls_count']} round {a['r']}"
    return f"unexpected {name}"


def check_forms(t, variants):
    """The builds really exercise the symbolic forms (a compiler that changed its mind
    would make the value checks vacuous)."""
    specs = ""
    for label, argv, _ in variants:
        if label.startswith("gcc -O2"):
            specs += subprocess.run(["readelf", "-n", argv[0]], capture_output=True,
                                    text=True).stdout
    for form in ("g_counter(%rip)", "+g_conf(%rip)", "local_counter.", "%fs:tls_count@tpoff",
                 "g_arr(,%r"):
        t.check(form in specs, f"gcc -O2 writes an operand like '{form}'")


def check_stripped(t, d, variants):
    """A binary stripped of the variables' symbols: its sites are listed, with a warning
    naming the argument, and enabling them fails with that reason, not silently."""
    exe = next(v[1][0] for v in variants if v[0] == "gcc -O2 nopie")
    stripped = exe + "-stripped"
    run(["strip", "-o", stripped, exe])
    lst = subprocess.run([probectl, "list", "-b", stripped, "globals:*"], capture_output=True,
                         text=True)
    t.check(lst.returncode == 0 and "globals:plain" in lst.stdout and "globals:tls" in lst.stdout,
            f"stripped: the sites are still listed ({lst.stdout.strip()[:200]})")
    t.check("argument 0: symbol 'g_counter' is not in the object's symbol tables" in lst.stderr,
            f"stripped: the warning names the argument and the symbol ({lst.stderr.strip()[:300]})")
    app = start_app([stripped, "100000", "2000"])
    try:
        r = d.ctl("enable", "globals:plain", "-p", str(app.pid), "--mode", "sled", check=False)
        out = (r.stdout + r.stderr).strip()
        t.check(r.returncode != 0 and "cannot be read" in out,
                f"stripped: enable says why it cannot ({out[:300]})")
        d.ctl("disable", "globals:plain", "-p", str(app.pid), check=False)
    finally:
        stop_app(app)


t = Suite()
d = Daemon(probed, probectl)
try:
    variants = build_variants()
    check_forms(t, variants)
    check_stripped(t, d, variants)
    for mode in modes:
        for label, argv, has_tls in variants:
            want = {"plain", "local"} | ({"tls"} if has_tls else set())
            app = start_app(argv + ["100000", "2000"])
            try:
                lst = subprocess.run([probectl, "list", "--json", "-p", str(app.pid), "globals:*"],
                                     capture_output=True, text=True)
                names = {row["name"] for row in __import__("json").loads(lst.stdout or "[]")}
                t.check(names == want, f"{mode} {label}: every site listed ({sorted(names)}; "
                        f"{lst.stderr.strip()[:300]})")
                r = d.ctl("enable", "globals:*", "-p", str(app.pid), "--mode", mode, check=False)
                t.check(r.returncode == 0, f"{mode} {label}: enable succeeds "
                        f"({(r.stdout + r.stderr).strip()[:300]})")

                def mine():
                    return [e for e in read_events(d.events_path)[0] if e.get("pid") == app.pid]

                def got_all():
                    evs = mine()
                    return evs if {e["name"] for e in evs} >= want and len(evs) >= 3 * len(want) else None
                evs, _ = wait_until(got_all, 15)
                d.ctl("disable", "globals:*", "-p", str(app.pid), check=False)
                evs = evs or mine()
                bad = [(e["name"], check_event(e)) for e in evs if check_event(e)]
                t.check(evs and {e["name"] for e in evs} >= want and not bad,
                        f"{mode} {label}: {len(evs)} events, right values ({bad[:3]})")
            finally:
                stop_app(app)
finally:
    d.stop()
    subprocess.run(["rm", "-rf", work])
t.finish()
