#!/usr/bin/env python3
"""Sled mode when a traced app dies: one app segfaults and another is killed with SIGKILL,
both while enabled and producing events.  Neither disturbs the daemon: status still
answers, a third traced process keeps being traced, the dead processes' blocks in
/dev/shm (which they never unlinked) are removed by the daemon's rescan within ~2 s, the
events they produced before dying are exported intact, and their probes' figures close
(emitted == exported + dropped).

Usage: sled_app_crash.py BUILD_DIR
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import (CtlClient, Daemon, Suite, cleanup_dir, is_jmp_site,  # noqa: E402
                      isolate_dev_shm, probe_counts_settled, raise_priority, read_events,
                      read_mem_or_none, site_info, stop_app, wait_until)

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress_app = os.path.join(build, "tests", "integration", "stress_app")
stress_check = os.path.join(build, "tests", "integration", "stress_check")
THREADS = 2


def start(name):
    err = open(os.path.join(d.dir, name + ".err"), "w+")
    # In a sanitizer build, let the kernel kill the app on SIGSEGV (ASan would catch the
    # signal, report and exit 1).
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":handle_segv=0")
    # two threads pausing 1 ms every 64 events: events flow without flooding the daemon
    p = subprocess.Popen([stress_app, str(THREADS), "1000"], stdout=subprocess.DEVNULL, stderr=err,
                         env=env)
    p.errlog = err
    return p


def pid_lines(pid):
    """Lines of pid in the events file (a cheap substring count, no JSON parse)."""
    key = f'"pid":{pid},'.encode()
    with open(d.events_path, "rb") as f:
        return f.read().count(key)


t = Suite()
raise_priority()
d = Daemon(probed, probectl)
raise_priority(d.proc.pid)
apps = {}
client = None
try:
    for name in ("segv", "killed", "survivor"):
        apps[name] = start(name)
    for p in apps.values():
        wait_until(lambda: os.path.exists(f"/dev/shm/sled.{p.pid}"), 10)
    addr = {n: site_info(probectl, p.pid, "stress:hit")[0][0] for n, p in apps.items()}
    client = CtlClient(d.socket)
    ids = {}
    for n, p in apps.items():
        r = client.request(cmd="enable", pattern="stress:hit", pid=p.pid)
        ids[n] = r.get("id")
        t.check(r.get("ok") and r["processes"][0]["on"] == 1, f"enabled in the {n} app")
    flowing, _ = wait_until(lambda: all(pid_lines(p.pid) > 500 for p in apps.values()), 10, 0.05)
    t.check(flowing, "events flow from all three apps " +
            str({n: pid_lines(p.pid) for n, p in apps.items()}))

    # --- one app segfaults, another is killed, while enabled and producing events.
    segv, killed, survivor = apps["segv"], apps["killed"], apps["survivor"]
    pre = {p["pid"]: p for p in client.request(cmd="status")["processes"]}
    malformed = {n: pre.get(p.pid, {}).get("malformed") for n, p in apps.items()}
    segv.send_signal(signal.SIGUSR1)      # its main thread dereferences an invalid pointer
    killed.send_signal(signal.SIGKILL)
    rc_segv, rc_killed = segv.wait(timeout=10), killed.wait(timeout=10)  # reaped: no zombies
    t_dead = time.monotonic()
    t.check(rc_segv == -signal.SIGSEGV, f"the first app died of SIGSEGV (rc={rc_segv})")
    t.check(rc_killed == -signal.SIGKILL, f"the second app died of SIGKILL (rc={rc_killed})")

    st = client.request(cmd="status")
    t.check(st.get("ok") is True and d.proc.poll() is None,
            f"status answers right after the deaths ({time.monotonic() - t_dead:.2f} s)")
    gone = {}
    for n in ("segv", "killed"):
        path = f"/dev/shm/sled.{apps[n].pid}"
        ok, waited = wait_until(lambda: not os.path.exists(path), 5, 0.02)
        gone[n] = (ok, time.monotonic() - t_dead)
    print(f"# blocks removed after {gone['segv'][1]:.2f} s (segfault) and "
          f"{gone['killed'][1]:.2f} s (SIGKILL)", flush=True)
    for n, (ok, waited) in gone.items():
        t.check(ok and waited <= 2.5,
                f"the {n} app's /dev/shm block is removed by the daemon within ~2 s ({waited:.2f} s)")
    st = client.request(cmd="status")
    listed = {p["pid"] for p in st["processes"]}
    t.check(segv.pid not in listed and killed.pid not in listed and survivor.pid in listed,
            f"status lists the survivor only ({sorted(listed)})")

    # --- the survivor is still traced.
    before = pid_lines(survivor.pid)
    time.sleep(1.0)
    after = pid_lines(survivor.pid)
    t.check(after > before, f"the survivor's events keep flowing ({before} -> {after} lines)")
    t.check(is_jmp_site(read_mem_or_none(survivor.pid, addr["survivor"], 6) or b""),
            "the survivor's sled is still a jmp")
    sv = next((p for p in client.request(cmd="status")["probes"] if p["id"] == ids["survivor"]), {})
    t.check(sv.get("sites") == 1 and sv.get("processes") == 1, f"the survivor's probe is intact ({sv})")

    # --- the dead apps' events, produced up to their deaths, were exported and add up.
    for n in ("segv", "killed"):
        c = probe_counts_settled(lambda: client.request(cmd="status"), ids[n])
        t.check(c is not None and c["emitted"] > 0 and c["emitted"] == c["exported"] + c["dropped"],
                f"the {n} app's probe: emitted == exported + dropped after its death ({c}; "
                f"probed had counted {malformed[n]} malformed records in it before)")
    # --- the survivor exits normally, still enabled, while probed is held up (SIGSTOP,
    # as a busy or descheduled daemon would be): what its threads recorded last is still
    # in the rings when probed detaches it, and must reach the file even though no
    # other event follows to trigger a flush.
    pre = next((p for p in client.request(cmd="status")["processes"] if p["pid"] == survivor.pid), {})
    d.proc.send_signal(signal.SIGSTOP)
    try:
        survivor.send_signal(signal.SIGTERM)
        rc = survivor.wait(timeout=20)
    finally:
        d.proc.send_signal(signal.SIGCONT)
    survivor.errlog.seek(0)
    t.check(rc == 0, f"the survivor exits 0 ({survivor.errlog.read().strip()})")
    c = probe_counts_settled(lambda: client.request(cmd="status"), ids["survivor"])
    t.check(c is not None and c["emitted"] == c["exported"] + c["dropped"],
            f"the survivor's probe: emitted == exported + dropped after its exit ({c}; probed "
            f"had counted {pre.get('malformed')} malformed records in it before)")
    time.sleep(1.0)
    in_file = pid_lines(survivor.pid)
    t.check(c is not None and in_file == c["exported"],
            f"1 s after the survivor's exit the file holds every event probed counts as exported "
            f"({in_file} lines, {c and c['exported']} exported)")
    client.close()
    client = None
    d.stop()  # flushes the output
    _, bad = read_events(d.events_path)
    t.check(not bad, f"every line of the events file is JSON ({len(bad)} bad)")
    for n, p in apps.items():
        r = subprocess.run([stress_check, d.events_path, str(p.pid), str(THREADS)],
                           capture_output=True, text=True, timeout=60)
        first = r.stdout.splitlines()[0] if r.stdout else "?"
        t.check(r.returncode == 0, f"the {n} app's events are well-formed and self-consistent ({first})"
                + ("" if r.returncode == 0 else ":\n" + r.stdout[-2000:]))
finally:
    if client:
        client.close()
    for p in apps.values():
        stop_app(p)
    d.stop()
    if t.failed:
        print(d.log_text()[-3000:])
    cleanup_dir(d.dir, t.failed)
t.finish()
