#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Events written through probed's msgpack and JSON-lines outputs, decoded by independent
decoders (Debian's python3-msgpack, Python's json): every event must come back with the
values, types, timestamps and "truncated" lists the driver wrote.

usage: msgpack_python.py ENCODE_DRIVER [N]

Run it with /usr/bin/python3: that is the interpreter python3-msgpack belongs to.
"""
import codecs
import datetime
import io
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    import msgpack
except ImportError:
    sys.exit("Error: no msgpack module for %s (apt-get install python3-msgpack)" % sys.executable)

BASE_NS = 1700000000000000000
INT64_MIN, UINT64_MAX = -(1 << 63), (1 << 64) - 1

# The driver's strings table: (bytes or None, truncated)
STRINGS = [
    (b"plain", False),
    (b"q\"b\\n\nt\tc\x01\x1f del\x7f end", False),
    ("café € 😀".encode(), False),
    (b"bad\xffx\xe2\x82y\xc0\xafz\xed\xa0\x80!", False),
    (None, False),
    (b"cut\xe2\x82", True),
    (b"/a/long/path/that/was/cut", True),
    (b"nul\0inside", False),
    (b"", False),
]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def text(entry):
    """What a string field must decode to: ill-formed UTF-8 as U+FFFD, and for a
    truncated string, without a character the truncation cut."""
    raw, truncated = entry
    if raw is None:
        return None
    if truncated:
        return codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=False)
    return raw.decode("utf-8", "replace")


def expected_event(i):
    """Mirror of make_event() in encode_driver.c: (header dict, [(field, kind, value)])."""
    if i % 7 == 0:
        ts = BASE_NS + i * 1000000000
    elif i % 11 == 0:
        ts = ((1 << 34) + i) * 1000000000 + i
    else:
        ts = BASE_NS + i * 1000001
    head = {
        "provider": "café" if i % 10 == 9 else "app",
        "name": "odd" if i % 2 else "even",
        "ts": ts,
        "pid": 1000 + i,
        "tid": 2000 + i,
    }
    mode = [None, "sled", "uprobe"][i % 3]
    if mode is not None:
        head["mode"] = mode
    if i % 2 == 0:
        if i % 17 == 0:
            fv = math.nan
        elif i % 19 == 0:
            fv = math.inf
        else:
            fv = f32(f32(i / 8) + f32(0.1))
        fields = [
            ("i8", "int", ((i * 37 + 128) % 256) - 128),
            ("i16", "int", -(i * 123 % 32768)),
            ("i32", "int", -i * 100003),
            ("i64", "int", INT64_MIN if i % 5 == 0 else -i * 1000000000000),
            ("u8", "int", i % 256),
            ("u16", "int", i * 7 % 65536),
            ("u32", "int", 4294967295 - i),
            ("u64", "int", UINT64_MAX if i % 5 == 0 else i * 1000000000000 + 7),
            ("ok", "bool", i % 4 == 0),
            ("f", "float32", fv),
            ("d", "double", -math.inf if i % 23 == 0 else i * 0.1 + 1 / 3),
            ("s", "str", STRINGS[i % len(STRINGS)]),
        ]
    else:
        fields = [
            ("p", "int", 0x7FFD0000 + i * 16),
            ("s", "str", STRINGS[i % len(STRINGS)]),
            ("s2", "str", STRINGS[(i // 2) % len(STRINGS)]),
            ("ok", "bool", i % 3 == 0),
            ("d", "double", -i / 3),
        ]
    return head, fields


def truncated_names(fields):
    return [n for n, kind, v in fields if kind == "str" and v[0] is not None and v[1]]


def same_float(got, want):
    if math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return isinstance(got, float) and got == want


def compare(i, got, fmt):
    """Differences between a decoded event and event i, as a list of strings."""
    head, fields = expected_event(i)
    errs = []
    if not isinstance(got, dict):
        return ["not a map: %r" % (got,)]
    trunc = truncated_names(fields)
    keys = list(head) + ["args"] + (["truncated"] if trunc else [])
    # "mode" comes before "args" in both forms
    if list(got) != keys:
        errs.append("keys %r, expected %r" % (list(got), keys))
    for k, want in head.items():
        v = got.get(k)
        if k == "ts":
            if fmt == "msgpack":
                if not isinstance(v, msgpack.Timestamp) or v.to_unix_nano() != want:
                    errs.append("ts %r, expected %d ns" % (v, want))
            elif type(v) is not int or v != want:
                errs.append("ts %r, expected %d" % (v, want))
        elif type(v) is not type(want) or v != want:
            errs.append("%s %r, expected %r" % (k, v, want))
    args = got.get("args")
    if not isinstance(args, dict):
        return errs + ["args %r" % (args,)]
    if list(args) != [n for n, _, _ in fields]:
        errs.append("args keys %r" % (list(args),))
    for name, kind, want in fields:
        v = args.get(name)
        if kind == "int":
            ok = type(v) is int and v == want
        elif kind == "bool":
            ok = type(v) is bool and v == want
        elif kind == "str":
            want = text(want)
            ok = v is None if want is None else (type(v) is str and v == want)
        elif fmt == "json" and (math.isnan(want) or math.isinf(want)):
            ok = v is None  # JSON has no NaN or infinity
        elif kind == "float32" and fmt == "json":
            ok = isinstance(v, float) and f32(v) == want  # shortest text for a float
        else:
            ok = same_float(v, want)
        if not ok:
            errs.append("args.%s %r (%s), expected %r (%s)" % (
                name, v, type(v).__name__, want, kind))
    if got.get("truncated", []) != trunc:
        errs.append("truncated %r, expected %r" % (got.get("truncated"), trunc))
    return errs


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, what, errs):
        if errs:
            self.failed += 1
            if self.failed <= 20:
                print("FAIL %s: %s" % (what, "; ".join(errs)))
        else:
            self.passed += 1


def run_driver(driver, *args, capture=False):
    p = subprocess.run([driver, "write"] + [str(a) for a in args],
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE, timeout=120)
    return p


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    driver = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    r = Results()

    with tempfile.TemporaryDirectory(prefix="sled-msgpack-") as tmp:
        mp_path = os.path.join(tmp, "events.mp")
        jl_path = os.path.join(tmp, "events.jsonl")
        p = run_driver(driver, n, "msgpack:" + mp_path, "jsonl:" + jl_path)
        r.check("driver writes to files", [] if p.returncode == 0 else [
            "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace"))])
        r.check("mode 0640", [] if os.stat(mp_path).st_mode & 0o777 == 0o640 & ~current_umask()
                else ["mode %o" % (os.stat(mp_path).st_mode & 0o777)])

        with open(mp_path, "rb") as f:
            mp_bytes = f.read()

        # msgpack, exact timestamps (timestamp=0: msgpack.Timestamp); strict UTF-8 for str
        unpacker = msgpack.Unpacker(timestamp=0, raw=False, strict_map_key=True)
        unpacker.feed(mp_bytes)
        events = []
        try:
            events = list(unpacker)
        except Exception as e:  # noqa: BLE001 - any decode error is a failure
            r.check("msgpack stream decodes", ["%s: %s" % (type(e).__name__, e)])
        r.check("msgpack event count", [] if len(events) == n else ["%d events" % len(events)])
        for i, ev in enumerate(events[:n]):
            r.check("msgpack event %d" % i, compare(i, ev, "msgpack"))

        # the same stream as datetimes (timestamp=3): microseconds, through a float
        dts = list(msgpack.Unpacker(io.BytesIO(mp_bytes), timestamp=3))
        errs = []
        for i, ev in enumerate(dts[:n]):
            want = expected_event(i)[0]["ts"]
            dt = ev.get("ts")
            epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            if not isinstance(dt, datetime.datetime) or dt.tzinfo is None:
                errs.append("event %d: ts %r" % (i, dt))
                continue
            us = (dt - epoch) // datetime.timedelta(microseconds=1)
            if abs(us - want // 1000) > 4:
                errs.append("event %d: ts %s, expected %d ns" % (i, dt.isoformat(), want))
        r.check("msgpack ts as datetime", errs[:5])

        # JSON lines
        with open(jl_path, "rb") as f:
            lines = f.read().split(b"\n")
        r.check("jsonl ends with a newline", [] if lines and lines[-1] == b"" else ["no"])
        lines = lines[:-1]
        r.check("jsonl line count", [] if len(lines) == n else ["%d lines" % len(lines)])
        for i, line in enumerate(lines[:n]):
            try:
                ev = json.loads(line.decode("utf-8"), parse_constant=lambda c: c)
            except (UnicodeDecodeError, ValueError) as e:
                r.check("jsonl event %d" % i, ["%s: %r" % (e, line[:120])])
                continue
            r.check("jsonl event %d" % i, compare(i, ev, "json"))

        # msgpack:- : the same bytes on a pipe to stdout
        p = run_driver(driver, n, "msgpack:-", capture=True)
        r.check("msgpack to stdout", [] if p.returncode == 0 and p.stdout == mp_bytes else [
            "exit %d, %d bytes, expected %d" % (p.returncode, len(p.stdout), len(mp_bytes))])

    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":
    sys.exit(main())
