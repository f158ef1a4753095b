#!/usr/bin/env python3
"""probed --max-metrics-bytes: a GET /metrics reply never passes the cap, and one cut at it
is still valid text exposition format that says so.

  - with a 4096-byte cap and 20 standing probes, the reply is at most 4096 bytes, parses,
    passes promtool check metrics, ends with sled_metrics_truncated 1, and leaves out the
    later probes' series, not the daemon's;
  - probed logs the cut once for three truncated replies in a row, and status counts each
    in daemon.refused.metrics_bytes, with the cap under daemon.limits.metrics_bytes;
  - a cap below 4096 is refused at start-up with a one-line error.

Usage: metrics_cap.py BUILD_DIR
"""
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm  # noqa: E402
from promtest import metrics_address, parse_exposition, promtool_check  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
CAP = 4096

t = Suite()
d = Daemon(probed, probectl, extra=("--metrics", "127.0.0.1:0", "--max-metrics-bytes", str(CAP)))
try:
    url = f"http://{metrics_address(d)}/metrics"
    # Standing probes for programs to come: each adds a sample to every per-probe family.
    for i in range(20):
        d.ctl("enable", f"capped{i:02}:tick", "--pending")
    bodies = []
    for _ in range(3):
        with urllib.request.urlopen(url, timeout=5) as r:
            bodies.append(r.read().decode())
    body = bodies[0]
    t.check(all(len(b.encode()) <= CAP for b in bodies),
            f"every reply is at most {CAP} bytes ({[len(b) for b in bodies]})")
    try:
        samples, types = parse_exposition(body)
        parsed = True
    except ValueError as e:
        samples, types, parsed = {}, {}, False
        print(e)
    t.check(parsed and body.endswith("\n"), "the cut reply parses: whole lines only")
    t.check(samples.get(("sled_metrics_truncated", frozenset())) == 1 and
            types.get("sled_metrics_truncated") == "gauge" and
            body.endswith("\nsled_metrics_truncated 1\n"),
            "it ends with the gauge sled_metrics_truncated 1")
    served = [len({dict(k[1]).get("probe") for k in samples if k[0] == f"sled_probe_{f}"})
              for f in ("hits_total", "processes")]
    t.check(("sled_probes", frozenset()) in samples and served[0] > 0 and served[1] < 20,
            f"the daemon's figures are served, the later series left out "
            f"(of 20 probes: {served[0]} in the first per-probe family, {served[1]} in the last)")
    ok, said = promtool_check(body)
    if ok is not None:
        t.check(ok, f"promtool check metrics passes on the cut reply ({said})")
    # Every family served has a sample: the cut never leaves a HELP/TYPE alone.
    names = {k[0] for k in samples}
    empty = [n for n, typ in types.items() if typ != "histogram" and n not in names]
    t.check(not empty, f"no family left without samples ({empty})")

    log = d.log_text()
    cuts = log.count("GET /metrics: reply cut at")
    t.check(cuts == 1, f"the cut is logged once for three cut replies in a row ({cuts})")
    dm = d.status()["daemon"]
    t.check(dm["refused"].get("metrics_bytes") == 3 and
            dm["limits"].get("metrics_bytes") == CAP,
            f"status: refused.metrics_bytes 3, limits.metrics_bytes {CAP} "
            f"({dm['refused'].get('metrics_bytes')}, {dm['limits'].get('metrics_bytes')})")
    human = d.ctl("status").stdout
    t.check("refused  metrics_bytes: 3" in human,
            "probectl status prints the cut replies under refused")

    # The cap lifted (fewer probes): the reply fits again and says 0.
    for i in range(1, 21):
        d.ctl("disable", str(i))
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read().decode()
    t.check(body.endswith("\nsled_metrics_truncated 0\n"),
            "with the probes gone the reply fits: sled_metrics_truncated 0")

    r = subprocess.run([probed, "-S", os.path.join(d.dir, "other.sock"),
                        "--max-metrics-bytes", "100"], capture_output=True, text=True,
                       timeout=10)
    t.check(r.returncode == 2 and r.stderr.count("\n") == 1 and
            "bad max-metrics-bytes '100'" in r.stderr,
            f"--max-metrics-bytes 100 refused: {r.stderr.strip()}")
finally:
    d.stop()
t.finish()
