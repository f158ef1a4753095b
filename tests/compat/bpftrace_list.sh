#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bpftrace_list.sh BIN... - bpftrace sees every tracepoint of each sample.
#
# For each BIN (executable or shared library), `bpftrace -l "usdt:BIN:*"` must list
# exactly the provider:name pairs that `readelf -n` shows in its .note.stapsdt.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/compat_lib.sh"

need_root
need_tool bpftrace
[ $# -gt 0 ] || { echo "usage: $0 BIN..."; exit 2; }
need_files "$@"

for bin in "$@"; do
	bin=$(realpath "$bin")
	want=$(stapsdt_names "$bin")
	if [ -z "$want" ]; then
		fail "$(basename "$bin"): readelf -n shows no stapsdt notes"
		continue
	fi
	got=$(bpftrace -l "usdt:$bin:*" 2>/dev/null | sed -n "s|^usdt:$bin:||p" | sort -u | xargs)
	echo "     $(basename "$bin"): readelf: $want"
	check "$(basename "$bin"): bpftrace -l lists every tracepoint" "$want" "$got"
done
finish
