#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""No silent or odd-looking mistakes in probectl and probed:

- every error line starts with `Error:`, getopt's included (unknown option, missing value);
- under `probectl --json` an error is one JSON object {"error": "..."} on stdout;
- a refused enable does not use up a probe id;
- tables keep their columns when a pattern or a scope is longer than its column;
- a process traced in uprobe mode shows its tracepoint `on` in `list` and counts in the
  probe's PROCS.

usage: cli_errors.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sledtest import Daemon, Suite, isolate_dev_shm  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
stress = os.path.join(build, "tests", "integration", "stress_app")
plain = os.path.join(build, "tests", "integration", "sample_basic_plain")
t = Suite()


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30)


def one_error_line(r, what, code=2):
    lines = r.stderr.strip().splitlines()
    t.check(r.returncode == code and lines and lines[0].startswith("Error: "),
            f"{what}: exit {r.returncode}, {lines[0] if lines else '(nothing)'}")


one_error_line(run(probed, "--bogus"), "probed, unknown long option")
one_error_line(run(probed, "-x"), "probed, unknown short option")
one_error_line(run(probed, "-c"), "probed, option without its value")
one_error_line(run(probectl, "list", "--bogus"), "probectl list, unknown option")
one_error_line(run(probectl, "list", "-b"), "probectl list, option without its value")
one_error_line(run(probectl, "enable", "x:y", "--bogus"), "probectl enable, unknown option")

r = run(probectl, "--json", "list", "--bogus")
try:
    doc = json.loads(r.stdout)
except ValueError:
    doc = None
t.check(r.returncode == 2 and isinstance(doc, dict) and "bogus" in doc.get("error", "") and
        not r.stderr.strip(), f"--json: a usage error is JSON on stdout ({r.stdout.strip()!r})")

d = Daemon(probed, probectl)
try:
    first = d.ctl_json("enable", "stress:hit", "-b", stress)["id"]
    r = d.ctl("--json", "enable", "stress:nope", "-b", stress, check=False)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = None
    t.check(r.returncode == 1 and isinstance(doc, dict) and "stress:nope" in doc.get("error", ""),
            f"--json: the daemon's refusal is JSON on stdout ({r.stdout.strip()!r})")
    d.ctl("enable", "web:req", check=False)  # refused: nothing knows web:req
    second = d.ctl_json("enable", "stress:hit", "-b", stress, "--sample", "2")["id"]
    t.check(second == first + 1, f"refused enables use up no id ({first}, then {second})")

    # Columns: a pattern and a scope longer than theirs.
    long_pattern = "a_provider_with_a_rather_long_name:*"
    d.ctl("enable", long_pattern, "--pending")
    lines = d.ctl("status").stdout.splitlines()
    head = lines[0]
    rows = [ln for ln in lines[1:4] if ln.strip()]
    col = head.index("MODE")
    t.check(len(rows) == 3 and all(row[col:col + 4] in ("sled", "auto") for row in rows),
            "status: MODE stays in its column with a long pattern and a long path\n" +
            "\n".join([head] + rows))
    t.check(any("..." in row for row in rows), "status: what is cut ends or starts with ...")

    # Uprobe mode: a process without libsled.
    app = subprocess.Popen([plain, "100000", "10"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        r = d.ctl_json("enable", "sample:request", "-p", str(app.pid), "--mode", "uprobe")
        rows = [ln.split() for ln in d.ctl("list", "-p", str(app.pid)).stdout.splitlines()]
        state = [row[2] for row in rows[1:] if row[1] == "sample:request"]
        t.check(rows[0][2] == "STATE" and state == ["on"],
                f"list: uprobe mode's tracepoint is on ({state})")
        probe = [p for p in d.status()["probes"] if p["id"] == r["id"]][0]
        t.check(probe["processes"] == 1, f"status: the -p uprobe probe counts its process "
                f"({probe['processes']})")
    finally:
        app.kill()
        app.wait()
finally:
    d.stop()
t.finish()
