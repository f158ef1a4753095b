#!/usr/bin/env python3
"""An enable with no scope in --mode auto covers every process: sled mode for those that
link libsled, per-process uprobes for the others, present and future; one probe id for
both parts.

Against real processes: sample_basic (links libsled) and sample_basic_plain (the same
source built with the header only: the same tracepoints and the same -v output).

  (a) a no-scope enable of sample:request reaches both, events say "mode" sled for one
      and uprobe for the other, and status shows each process with its mode;
  (b) a header-only process started after the enable is traced without another command;
  (c) when it exits its attaches are released (probed's fds come back) and the probe's
      totals do not go down;
  (d) disable removes both parts: no more events, fds back;
  (e) --filter selects the same events in both parts;
  (f) each process's events are exactly what it printed (-v) from the first one traced;
and --mode uprobe with no scope: every process with uprobes, the libsled one too;
  (g) a library dlopen()ed late by a process without libsled is attached when it appears.

Usage: uprobe_auto_all.py BUILD_DIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm, stop_app, wait_until  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
basic = os.path.join(build, "samples", "sample_basic")
plain = os.path.join(build, "tests", "integration", "sample_basic_plain")

t = Suite()
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()
d = Daemon(probed, probectl)
apps = []

FIGURES = ("hits", "filtered", "sampled_out", "rate_limited", "emitted", "exported", "dropped")


def start(path, n, sleep_ms, verbose=True):
    """A sample process, printing each request it makes with verbose (-v)."""
    argv = [path] + (["-v"] if verbose else []) + [str(n), str(sleep_ms)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE if verbose else subprocess.DEVNULL, text=True)
    apps.append(p)
    if path == basic:  # libsled's block: the daemon attaches the process from there
        wait_until(lambda: os.path.exists(f"/dev/shm/sled.{p.pid}"), 10)
    return p


def printed(p):
    """Wait for p to finish; the requests it printed: {id: (twice, name, latency)}."""
    out, _ = p.communicate(timeout=60)
    reqs = {}
    for line in out.splitlines():
        if line.startswith("request "):
            kv = dict(w.split("=", 1) for w in line.split()[1:])
            reqs[int(kv["id"])] = (int(kv["twice"]), kv["name"], float(kv["latency"]))
    return reqs


def requests_of(pid, since=0):
    return [e for e in d.events()[since:] if e["name"] == "request" and e["pid"] == pid]


def all_requests(since):
    """Every request event since then, of any process: a no-scope probe also traces other
    processes with sample:request that happen to run on the machine meanwhile."""
    return len([e for e in d.events()[since:] if e["name"] == "request"])


def exact_suffix(evs, reqs, pred=lambda i: True):
    """The events are exactly the requests the process printed and the filter accepts,
    from the first one traced to its last, with the same values."""
    if not evs:
        return False
    got = [(e["args"]["id"], (e["args"]["twice"], e["args"]["name"], e["args"]["latency"]))
           for e in evs]
    first = got[0][0]
    want = [(i, reqs[i]) for i in sorted(reqs) if i >= first and pred(i)]
    if got != want:
        print("# got ", [g[0] for g in got][:40], "...")
        print("# want", [w[0] for w in want][:40], "...")
        print("# diff", [g for g, w in zip(got, want) if g != w][:5], len(got), len(want))
    return got == want


def nfds():
    return len(os.listdir(f"/proc/{d.proc.pid}/fd"))


def fds_back(base, timeout=15):
    """Released uprobes give their fds back in the background: wait for them."""
    return wait_until(lambda: nfds() <= base, timeout, 0.05)[0]


def probe(pid):
    return next((p for p in d.status()["probes"] if p["id"] == pid), None)


def rows():
    return {p["pid"]: p for p in d.status()["processes"]}


def consistent(c):
    return (c["hits"] == c["filtered"] + c["sampled_out"] + c["rate_limited"] + c["emitted"]
            and c["emitted"] == c["exported"] + c["dropped"])


try:
    # --- (a) one enable, no scope: sled mode for the libsled process, uprobes for the other.
    N, MS = 150, 20
    sl = start(basic, N, MS)
    up = start(plain, N, MS)
    time.sleep(0.3)
    since0 = len(d.events())
    r = d.ctl_json("enable", "sample:request")
    fd_on = nfds()
    modes = {p["pid"]: p["mode"] for p in r["processes"]}
    t.check(r["mode"] == "auto" and modes.get(sl.pid) == "sled" and modes.get(up.pid) == "uprobe",
            f"enable replies mode auto, sled for {sl.pid}, uprobe for {up.pid} ({r})")
    uprow = next((p for p in r["processes"] if p["pid"] == up.pid), {})
    t.check(uprow.get("on") == 1 and uprow.get("failed") == 0 and r["fds"] >= 2 and "error" not in r,
            f"the uprobe part attached sample:request in the header-only process ({uprow}, {r['fds']} fds)")
    base = fd_on - r["fds"]  # what probed holds without the uprobe part's attaches
    pid = r["id"]
    st = rows()
    t.check(st.get(sl.pid, {}).get("mode") == "sled" and st.get(up.pid, {}).get("mode") == "uprobe"
            and pid in st.get(sl.pid, {}).get("probes", []) and pid in st.get(up.pid, {}).get("probes", []),
            f"status --json: each process with its mode and the probe ({st.get(sl.pid)}, {st.get(up.pid)})")
    human = d.ctl("status").stdout
    lines = {int(ln.split()[0]): ln.split() for ln in human.splitlines() if ln.split() and ln.split()[0].isdigit()}
    t.check(lines.get(sl.pid, [None, None])[1] == "sled" and lines.get(up.pid, [None, None])[1] == "uprobe"
            and any(ln[0] == str(pid) and "auto" in ln for ln in lines.values()),
            "probectl status: the probe's mode auto, each process's mode sled / uprobe")
    pc = probe(pid)
    # (>= 1: a header-only process with sample:request elsewhere on the machine counts too)
    t.check(pc["mode"] == "auto" and pc["sled_processes"] == 1 and pc["uprobe_processes"] >= 1,
            f"the probe counts one process in each mode ({pc['sled_processes']}, {pc['uprobe_processes']})")
    r_text = d.ctl("enable", "sample:request", "--count-only")
    t.check("in sled mode, and in" in r_text.stdout and "in uprobe mode" in r_text.stdout,
            f"probectl enable says what each part did: {r_text.stdout.strip()}")
    d.ctl("disable", r_text.stdout.split()[1].rstrip(":"))

    # --- (b) a header-only process started after the enable is traced.
    late = start(plain, N, MS)
    got, waited = wait_until(lambda: requests_of(late.pid), 5, 0.05)
    t.check(bool(got) and all(e.get("mode") == "uprobe" for e in got),
            f"a process started after the enable is traced with uprobes, first event after {waited:.1f} s")
    t.check(rows().get(late.pid, {}).get("mode") == "uprobe", "status lists it in uprobe mode")
    before_exit = probe(pid)

    # --- (f) every process: exactly what it printed, from its first traced request.
    reqs = {p.pid: printed(p) for p in (sl, up, late)}
    d.status()  # drains: what the processes wrote before they exited is in the file now
    for p, mode in ((sl, "sled"), (up, "uprobe"), (late, "uprobe")):
        evs = requests_of(p.pid)
        t.check(exact_suffix(evs, reqs[p.pid]) and all(e.get("mode", "sled") == mode for e in evs),
                f"process {p.pid} ({mode}): its {len(evs)} events are the requests it printed "
                f"from id {evs[0]['args']['id'] if evs else '?'} to {N}, values equal")

    # --- (c) the exited processes give their attaches back; the figures stay.
    t.check(fds_back(base), f"probed's fds come back to {base} once the processes exit ({nfds()})")
    gone, _ = wait_until(lambda: not [p for p in d.status()["processes"] if p["pid"] in reqs], 5)
    t.check(gone, "status no longer lists the processes that exited")
    after = probe(pid)
    t.check(all(after[k] >= before_exit[k] for k in FIGURES),
            f"the probe's totals do not go down (exported {before_exit['exported']} -> {after['exported']})")
    total = all_requests(since0)
    t.check(after["exported"] == total and after["filtered"] == 0 and consistent(after),
            f"and add up to every event of both parts: hits {after['hits']} = exported "
            f"{after['exported']} + dropped {after['dropped']}, {total} events")

    # --- (d) disable removes both parts.
    sl2 = start(basic, 100000, 10, verbose=False)
    up2 = start(plain, 100000, 10, verbose=False)
    both, _ = wait_until(lambda: requests_of(sl2.pid) and requests_of(up2.pid), 5, 0.05)
    t.check(bool(both), f"running processes of both kinds are traced ({sl2.pid}, {up2.pid})")
    fin = d.ctl_json("disable", str(pid))["final"][0]
    n_after = len(d.events())
    t.check(consistent(fin) and fin["exported"] == all_requests(since0),
            f"disable's final figures count both parts ({fin['exported']} exported)")
    more, _ = wait_until(lambda: len(d.events()) > n_after, 1.5, 0.1)
    t.check(not more, "no event after disable, from either part")
    t.check(fds_back(base), f"the uprobe part's fds are given back ({nfds()}, was {base})")
    st = d.status()
    t.check(st["probes"] == [] and not [p for p in st["processes"] if p["mode"] == "uprobe"],
            "status: no probe, no process in uprobe mode")
    stop_app(sl2)
    stop_app(up2)

    # --- (e) a filter: the same predicate in both parts.
    expr = 'name == "req-1*" || twice > 500 || latency < 30.0'

    def pred(i):
        return str(i).startswith("1") or 2 * i > 500 or 1.5 * i < 30

    N, MS = 300, 5
    sl = start(basic, N, MS)
    up = start(plain, N, MS)
    time.sleep(0.2)
    since = len(d.events())
    pid = d.ctl_json("enable", "sample:request", "--filter", expr)["id"]
    reqs = {p.pid: printed(p) for p in (sl, up)}
    c = d.ctl_json("disable", str(pid))["final"][0]
    ev = {p.pid: requests_of(p.pid, since) for p in (sl, up)}
    for p, mode in ((sl, "sled"), (up, "uprobe")):
        t.check(exact_suffix(ev[p.pid], reqs[p.pid], pred) and all(e.get("mode", "sled") == mode for e in ev[p.pid]),
                f"--filter in {mode} mode: exactly the accepted requests from the first traced "
                f"({len(ev[p.pid])} events)")
    lo = max(ev[p.pid][0]["args"]["id"] for p in (sl, up) if ev[p.pid])
    ids = [[e["args"]["id"] for e in ev[p.pid] if e["args"]["id"] >= lo] for p in (sl, up)]
    t.check(ids[0] == ids[1] and len(ids[0]) > 10,
            f"both parts keep the same {len(ids[0])} ids from {lo} on")
    t.check(consistent(c) and c["filtered"] > 0 and c["exported"] == all_requests(since),
            f"figures add up: {c['hits']} hits = {c['filtered']} filtered + {c['emitted']} emitted, "
            f"{c['exported']} exported")
    t.check(fds_back(base), "fds back after the filtered probe")

    # --- --mode uprobe with no scope: every process with uprobes, libsled or not.
    sl = start(basic, 60, 10)
    up = start(plain, 60, 10)
    time.sleep(0.2)
    since = len(d.events())
    bad = d.ctl("enable", "sample:*", "--mode", "uprobe", "--filter", "id > 1", check=False)
    d.status()  # drains
    t.check(bad.returncode == 1 and "sample:tick: filter: unknown field 'id'" in bad.stderr
            and d.status()["probes"] == [] and all_requests(since) == 0,
            f"a filter that does not fit every tracepoint it matches is refused whole, before "
            f"any attach ({bad.stderr.strip()})")
    r = d.ctl_json("enable", "sample:request", "--mode", "uprobe")
    modes = {p["pid"]: p["mode"] for p in r["processes"]}
    t.check(r["mode"] == "uprobe" and modes.get(sl.pid) == "uprobe" and modes.get(up.pid) == "uprobe",
            f"--mode uprobe, no scope: uprobes in both processes ({modes})")
    reqs = {p.pid: printed(p) for p in (sl, up)}
    c = d.ctl_json("disable", str(r["id"]))["final"][0]
    for p in (sl, up):
        evs = requests_of(p.pid, since)
        t.check(exact_suffix(evs, reqs[p.pid]) and all(e.get("mode") == "uprobe" for e in evs),
                f"process {p.pid}: {len(evs)} events, all in uprobe mode, exactly what it printed")
    t.check(consistent(c) and c["exported"] == all_requests(since),
            f"figures add up ({c['exported']} exported)")

    # --- (g) a process without libsled that dlopen()s a library with tracepoints after
    # the daemon first looked at it (3 s: past the second look at young processes).
    dl_app = os.path.join(build, "tests", "integration", "sample_dlopen_plain")
    dl_lib = os.path.join(build, "tests", "integration", "libsample_plugin_plain.so")
    r = d.ctl_json("enable", "plugin:handle", "--pending")
    late_dl = subprocess.Popen([dl_app, "-l", dl_lib, "-d", "3000", "60", "50"],
                               stdout=subprocess.DEVNULL)
    apps.append(late_dl)
    got, waited = wait_until(lambda: [e for e in d.events() if e["name"] == "handle"
                                      and e["pid"] == late_dl.pid], 10, 0.05)
    late_dl.wait(timeout=30)
    d.status()  # drains
    vals = [e["args"]["value"] for e in d.events() if e["name"] == "handle" and e["pid"] == late_dl.pid]
    t.check(len(vals) >= 20 and vals == list(range(vals[0], 61)) and
            all(e.get("mode") == "uprobe" for e in got),
            f"a library dlopen()ed 3 s after start is traced in uprobe mode: values "
            f"{vals[:1]}..{vals[-1:]} ({len(vals)} of 60), first event {waited:.1f} s after start")
    d.ctl("disable", str(r["id"]))
finally:
    for a in apps:
        stop_app(a)
    d.stop()
    if t.failed:
        print(d.log_text())
t.finish()
