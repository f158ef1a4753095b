#!/usr/bin/env python3
"""probectl list -p against a live process that dlopen()s a library with tracepoints.

Checks, against the kernel's own view of the process (/proc/PID/maps and /proc/PID/mem):
  - the dlopen'd library's tracepoints and the executable's are listed for the PID;
  - every listed site address, read from the live process, holds the site bytes
    90 0f 1f 44 00 00, and lies in an executable mapping of the listed object;
  - fields carry the names and types the source gave them.
Usage: list_live_process.py PROBECTL SAMPLE_DLOPEN
"""
import json
import os
import subprocess
import sys
import time

SITE = bytes([0x90, 0x0F, 0x1F, 0x44, 0x00, 0x00])
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)


def maps_of(pid):
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip() if len(parts) > 5 else ""
            out.append((lo, hi, parts[1], path))
    return out


def main():
    probectl, sample = sys.argv[1], sys.argv[2]
    proc = subprocess.Popen([sample, "0", "50"], stdout=subprocess.DEVNULL)
    try:
        # Wait until the plugin is mapped: dlopen happens right after start.
        deadline = time.time() + 10
        while time.time() < deadline:
            if any("libsample_plugin" in m[3] for m in maps_of(proc.pid)):
                break
            time.sleep(0.02)
        r = subprocess.run([probectl, "list", "--json", "-p", str(proc.pid)],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"probectl list -p exits 0 (stderr: {r.stderr.strip()})")
        rows = json.loads(r.stdout)
        by_name = {(x["provider"], x["name"]): x for x in rows}
        check(("plugin", "handle") in by_name, "plugin:handle from the dlopen'd library is listed")
        check(("plugin", "loaded") in by_name, "plugin:loaded is listed")
        maps = maps_of(proc.pid)
        with open(f"/proc/{proc.pid}/mem", "rb") as mem:
            for row in rows:
                if row["provider"] not in ("plugin", "sample"):
                    continue
                for site in row["sites"]:
                    addr = site["address"]
                    mem.seek(addr)
                    got = mem.read(6)
                    check(got == SITE, f"{row['provider']}:{row['name']} site 0x{addr:x} "
                          f"holds 90 0f 1f 44 00 00 in the live process (got {got.hex()})")
                    owner = [m for m in maps if m[0] <= addr < m[1]]
                    check(len(owner) == 1 and "x" in owner[0][2]
                          and owner[0][3] == row["object"],
                          f"site 0x{addr:x} lies in an executable mapping of {row['object']}")
        h = by_name.get(("plugin", "handle"))
        if h:
            check(h["object"].endswith("libsample_plugin.so"), "plugin:handle object is the library")
            check(h["sled"] is True, "plugin:handle carries sled field metadata")
            check([(f["name"], f["type"]) for f in h["fields"]] == [("value", "i32"), ("label", "string")],
                  f"plugin:handle fields are value:i32 label:string (got {h['fields']})")
        # The human table names the library too.
        r = subprocess.run([probectl, "list", "plugin:*", "-p", str(proc.pid)],
                           capture_output=True, text=True)
        check(r.returncode == 0 and "plugin:handle" in r.stdout and "libsample_plugin.so" in r.stdout,
              "human table lists plugin:handle with its library")
    finally:
        proc.kill()
        proc.wait()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
