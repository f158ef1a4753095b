#!/usr/bin/env bash
# A two-minute tour: build, start a sample app, list its tracepoints from the live process,
# count and print its events with bpftrace (which knows nothing of sled: it reads the
# standard .note.stapsdt), then clean up.  Installs missing Debian packages first.
set -euo pipefail
SLED_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SLED_ROOT
# shellcheck source=lib/deps.sh
. "$SLED_ROOT/scripts/lib/deps.sh"
# shellcheck source=lib/build.sh
. "$SLED_ROOT/scripts/lib/build.sh"

ensure_packages "${SLED_BUILD_PACKAGES[@]}" bpftrace
ensure_tracefs
configure_and_build "$SLED_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo

bin=$SLED_ROOT/build
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "the tracepoints of a binary, read from its ELF notes (no daemon needed)"
echo "\$ probectl list -b sample_basic"
"$bin/probed/probectl" list -b "$bin/samples/sample_basic"

step "a live process that dlopen()s a library with tracepoints"
"$bin/samples/sample_dlopen" 0 100 >/dev/null &
pids+=($!)
dl_pid=$!
for _ in $(seq 50); do grep -q libsample_plugin "/proc/$dl_pid/maps" && break; sleep 0.05; done
echo "\$ probectl list -p $dl_pid -v"
"$bin/probed/probectl" list -p "$dl_pid" -v

step "the site bytes in the live process: 90 (stapsdt pc) + 0f 1f 44 00 00 (the sled)"
addr=$("$bin/probed/probectl" list --json -p "$dl_pid" plugin:handle |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["sites"][0]["address"])')
python3 - "$dl_pid" "$addr" <<'PY'
import sys
pid, addr = int(sys.argv[1]), int(sys.argv[2])
with open(f"/proc/{pid}/mem", "rb") as m:
    m.seek(addr)
    print(f"0x{addr:x}: " + " ".join(f"{b:02x}" for b in m.read(6)))
PY

step "sled mode: the probed daemon, then enable a probe in the live process"
sock=$(mktemp -u /tmp/probed-demo.XXXXXX.sock)
"$bin/probed/probed" -S "$sock" &
pids+=($!)
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
ctl() { "$bin/probed/probectl" -S "$sock" "$@"; }
"$bin/samples/sample_basic" 1000000 100 >/dev/null &
pids+=($!)
app=$!
sleep 0.3
echo "\$ probectl enable sample:request -p $app"
ctl enable sample:request -p "$app"
echo "\$ probectl list -p $app sample:*"
ctl list -p "$app" 'sample:*'

step "live events (probectl tail), for 2 seconds"
echo "\$ probectl tail sample:request"
ctl tail sample:request &
tail_pid=$!
pids+=($tail_pid)
sleep 2
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
echo "\$ probectl status"
ctl status

step "disable: the sled is a NOP again"
echo "\$ probectl disable sample:request -p $app"
ctl disable sample:request -p "$app"
ctl list -p "$app" 'sample:*'

if [[ $(id -u) -eq 0 ]]; then
	step "bpftrace attached to the same sites through the standard USDT notes"
	echo "\$ bpftrace -e 'usdt:sample_basic:sample:request { @hits = count(); printf(...) }' -c 'sample_basic 5 100'"
	bpftrace -q -e "usdt:$bin/samples/sample_basic:sample:request {
		@hits = count();
		printf(\"request id=%d twice=%d name=%s\\n\", arg0, arg1, str(arg2));
	}" -c "$bin/samples/sample_basic 5 100" 2>&1 | grep -v RLIMIT_MEMLOCK || true
else
	step "skipping the bpftrace step: it needs root"
fi
step "done"
