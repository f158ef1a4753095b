#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gdb_info_probes.sh [-r BASIC] BIN... - gdb sees every tracepoint site, and reads
# their arguments.
#
# For each BIN, `gdb -batch -ex 'info probes' BIN` must list one stap probe per
# .note.stapsdt entry, same provider, name and address (inlined copies are separate).
# With -r BASIC (the sample_basic program), gdb also stops at the sample:request probe
# of a run and reads $_probe_arg0..2: id, twice == 2 * id, name == "req-<id>".
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/compat_lib.sh"

need_tool gdb
basic=""
if [ "${1:-}" = -r ] && [ $# -ge 2 ]; then
	need_files "$2"
	basic=$(realpath "$2")
	shift 2
fi
[ $# -gt 0 ] || [ -n "$basic" ] || { echo "usage: $0 [-r SAMPLE_BASIC] BIN..."; exit 2; }
need_files "$@"

GDB=(gdb -nx -batch -iex 'set debuginfod enabled off')

for bin in "$@"; do
	bin=$(realpath "$bin")
	want=$(stapsdt_sites "$bin")
	if [ -z "$want" ]; then
		fail "$(basename "$bin"): readelf -n shows no stapsdt notes"
		continue
	fi
	# Type Provider Name Where [Semaphore] Object; Where as 0x%016x like readelf.
	got=$("${GDB[@]}" -ex 'info probes' "$bin" 2>&1 | awk '$1 == "stap" { print $2, $3, $4 }' | sort)
	echo "     $(basename "$bin"): $(wc -l <<<"$want") sites in readelf -n"
	check "$(basename "$bin"): info probes lists every site" "$(xargs <<<"$want")" "$(xargs <<<"$got")"
done

if [ -n "$basic" ]; then
	n=3
	# Break on every hit of the probe, print its arguments, continue.
	cmds=(-ex 'break -probe-stap sample:request' -ex run)
	for ((i = 0; i < n; i++)); do
		cmds+=(-ex 'printf "ARGS %d %d %s\n", $_probe_arg0, $_probe_arg1, (char *)$_probe_arg2' -ex continue)
	done
	got=$("${GDB[@]}" "${cmds[@]}" --args "$basic" "$n" 0 2>&1 | awk '$1 == "ARGS" { print $2, $3, $4 }' | xargs)
	want=$(for ((i = 1; i <= n; i++)); do echo "$i $((2 * i)) req-$i"; done | xargs)
	check "sample_basic: gdb reads id, twice, name at $n hits of sample:request" "$want" "$got"
fi
finish
