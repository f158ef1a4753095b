#!/usr/bin/env python3
"""Uprobe mode, enable -b PATH: the binary is parsed through probed's object cache.

  - the first enable parses the file once (its check and its attaches share the parse);
  - a second enable of the same unchanged file parses nothing: status's objects_hits
    grows, objects_reads does not;
  - the file replaced (a new inode) is parsed again;
  - with every probe disabled, the objects the probes held are let go.

Usage: uprobe_binary_cache.py BUILD_DIR
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sledtest import Daemon, Suite, isolate_dev_shm  # noqa: E402

isolate_dev_shm()

build = sys.argv[1]
probed = os.path.join(build, "probed", "probed")
probectl = os.path.join(build, "probed", "probectl")
header_only = os.path.join(build, "tests", "integration", "header_only_app")

t = Suite()
if os.geteuid() != 0:
    print("SKIP: uprobe mode needs root")
    t.finish()
d = Daemon(probed, probectl)
try:
    # A copy of our own: no other process maps it, so its cache entry is the probes'.
    binary = os.path.join(d.dir, "app")
    shutil.copy(header_only, binary)

    def objects():
        dm = d.status()["daemon"]
        return dm["objects"], dm["objects_reads"], dm["objects_hits"]

    held0, reads0, hits0 = objects()
    first = d.ctl_json("enable", "app:tick", "--mode", "uprobe", "-b", binary)
    held1, reads1, hits1 = objects()
    t.check(first.get("attached", 0) >= 1 and reads1 == reads0 + 1 and held1 == held0 + 1,
            f"the first enable -b parses the file once and its probe holds it "
            f"(reads {reads0} -> {reads1}, held {held0} -> {held1})")

    second = d.ctl_json("enable", "app:tick", "--mode", "uprobe", "-b", binary)
    held2, reads2, hits2 = objects()
    t.check(second.get("attached", 0) >= 1 and reads2 == reads1 and hits2 > hits1 and
            held2 == held1,
            f"a second enable of the unchanged file is a cache hit, not a parse "
            f"(reads {reads1} -> {reads2}, hits {hits1} -> {hits2})")

    # Replaced, as a package upgrade does: a new inode under the same path.
    shutil.copy(header_only, binary + ".new")
    os.rename(binary + ".new", binary)
    third = d.ctl_json("enable", "app:tick", "--mode", "uprobe", "-b", binary)
    held3, reads3, _ = objects()
    t.check(third.get("attached", 0) >= 1 and reads3 == reads2 + 1 and held3 == held2 + 1,
            f"the file replaced is parsed again (reads {reads2} -> {reads3})")

    for pid in (first["id"], second["id"], third["id"]):
        d.ctl("disable", str(pid))
    held4, _, _ = objects()
    t.check(held4 == held0, f"the probes disabled, their objects are let go "
            f"(held {held3} -> {held4})")

    r = d.ctl("enable", "app:tick", "--mode", "uprobe", "-b", os.path.join(d.dir, "none"),
              check=False)
    t.check(r.returncode != 0 and r.stderr.count("\n") == 1 and "none" in r.stderr,
            f"a missing binary: one line ({r.stderr.strip()})")
finally:
    d.stop()
t.finish()
