#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bpftrace_count.sh SAMPLE_BASIC SAMPLE_DLOPEN [PLUGIN_SO] - bpftrace attached to our
# tracepoints sees every hit, with the right argument values.
#
#  1. sample_basic N under `bpftrace -c`: sample:request fires exactly N times, with
#     ids 1..N once each, twice == 2 * id, str(name) == "req-<id>" and latency (a
#     double, passed as its bit pattern) == 1.5 * id; sample:tick fires N times;
#     sample:debug never (its TRACEPOINT_ENABLED guard stays off under uprobe tools).
#  4. the two guards, sample_guards N under `bpftrace -c`: guards:sem (inside
#     TRACEPOINT_ENABLED_SEM, which reads the stapsdt semaphore bpftrace increments)
#     fires N times with values 1..N; guards:plain (inside TRACEPOINT_ENABLED) never.
#  2. the dlopen()ed library by path: bpftrace attached to
#     usdt:PLUGIN_SO:plugin:handle before sample_dlopen starts sees all N calls of
#     that process (values 1..N, label "<even|odd>:<value>") and its plugin:loaded.
#  3. the same probe with -p PID on a running sample_dlopen: the next K hits are
#     consecutive values with the right labels.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/compat_lib.sh"

need_root
need_tool bpftrace
[ $# -ge 2 ] || { echo "usage: $0 SAMPLE_BASIC SAMPLE_DLOPEN [PLUGIN_SO]"; exit 2; }
need_files "$@"
basic=$(realpath "$1")
dlopen=$(realpath "$2")
plugin=$(realpath "${3:-$(dirname "$dlopen")/libsample_plugin.so}")
guards=$(realpath "$(dirname "$basic")/sample_guards")
need_files "$guards"

WORK=$(mktemp -d /tmp/sled-bpftrace-count.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

# stop_bpftrace PID: SIGINT, repeated until it is gone.  bpftrace 0.17 sets a flag in its
# SIGINT handler and re-checks it only after epoll_wait returns: a signal that lands just
# before it blocks is lost and it sleeps on.  Returns bpftrace's exit status.
# A second SIGINT while it is already exiting kills it (status 130), so after each one it
# gets two seconds to finish before the next.
alive() {
	local state
	state=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null || true)
	[ -n "$state" ] && [ "$state" != Z ]
}
stop_bpftrace() {
	local pid=$1 i j rc=0
	for ((i = 0; i < 10; i++)); do
		alive "$pid" || break
		kill -INT "$pid" 2>/dev/null || true
		for ((j = 0; j < 20; j++)); do
			alive "$pid" || break
			sleep 0.1
		done
	done
	[ "$i" -lt 10 ] || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	return "$rc"
}

# Print bpftrace's output without its harmless RLIMIT_MEMLOCK complaint.
show() { grep -v RLIMIT_MEMLOCK "$1" | sed 's/^/     | /' | head -n "${2:-8}"; }

# awk helpers: hex -> number, and a double from its IEEE-754 bit pattern in hex.
AWK_F64='
function hexval(s,   v, i) {
	v = 0; s = tolower(s)
	for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
function f64(h,   e, m, sgn) {
	while (length(h) < 16) h = "0" h
	e = hexval(substr(h, 1, 3)); m = hexval(substr(h, 4)); sgn = 1
	if (e >= 2048) { sgn = -1; e -= 2048 }
	if (e == 0) return sgn * m * 2 ^ -1074
	return sgn * (1 + m / 2 ^ 52) * 2 ^ (e - 1023)
}'

# ---- 1. sample_basic under bpftrace -c ------------------------------------------------
n=25
out=$WORK/basic.out
echo "1. bpftrace -c '$(basename "$basic") $n 0' on sample:request, sample:tick, sample:debug"
rc=0
timeout 90 bpftrace -e "
usdt:$basic:sample:request { printf(\"REQUEST %d %d %s %lx\n\", arg0, arg1, str(arg2), arg3); }
usdt:$basic:sample:tick { printf(\"TICK\n\"); }
usdt:$basic:sample:debug { printf(\"DEBUG %d\n\", arg0); }" -c "$basic $n 0" >"$out" 2>&1 || rc=$?
show "$out" 4
check "bpftrace ran and exited 0" 0 "$rc"
check "attached to 3 probes" 1 "$(grep -c '^Attaching 3 probes' "$out" || true)"
check "sample:request hits == $n" "$n" "$(grep -c '^REQUEST ' "$out" || true)"
check "sample:request ids are 1..$n, once each" "$(seq 1 "$n" | xargs)" \
	"$(awk '$1 == "REQUEST" { print $2 }' "$out" | sort -n | xargs)"
bad=$(awk "$AWK_F64"'
	$1 == "REQUEST" && ($3 != 2 * $2 || $4 != "req-" $2 || f64($5) != 1.5 * $2) { print; exit }' "$out")
check "every hit has twice == 2*id, name == req-<id>, latency == 1.5*id" "" "$bad"
check "sample:tick hits == $n" "$n" "$(grep -c '^TICK$' "$out" || true)"
check "sample:debug hits == 0 (its guard stays off under uprobes)" 0 "$(grep -c '^DEBUG ' "$out" || true)"

# ---- 2. the plugin by library path, bpftrace first -----------------------------------
n=8
out=$WORK/plugin.out
echo "2. bpftrace on usdt:$(basename "$plugin"):plugin:handle by path, then '$(basename "$dlopen") $n 0'"
bpftrace -e "
usdt:$plugin:plugin:handle { printf(\"HANDLE %d %d %s\n\", pid, arg0, str(arg1)); }
usdt:$plugin:plugin:loaded { printf(\"LOADED %d\n\", pid); }" >"$out" 2>&1 &
bt=$!
PIDS+=("$bt")
if ! wait_for_line "$out" '^Attaching' 60 "$bt"; then
	fail "bpftrace did not attach within 60 s"
	show "$out"
else
	sleep 1 # "Attaching" comes just before the uprobes are live
	"$dlopen" -l "$plugin" "$n" 0 >/dev/null &
	app=$!
	PIDS+=("$app")
	rc=0
	wait "$app" || rc=$?
	check "sample_dlopen exited 0" 0 "$rc"
	sleep 1 # let bpftrace drain its perf buffer
	rc=0
	stop_bpftrace "$bt" || rc=$?
	show "$out" 4
	check "bpftrace exited 0 on SIGINT" 0 "$rc"
	check "plugin:handle hits from pid $app == $n" "$n" \
		"$(awk -v p="$app" '$1 == "HANDLE" && $2 == p' "$out" | wc -l)"
	check "plugin:handle values are 1..$n, once each" "$(seq 1 "$n" | xargs)" \
		"$(awk -v p="$app" '$1 == "HANDLE" && $2 == p { print $3 }' "$out" | sort -n | xargs)"
	bad=$(awk -v p="$app" '$1 == "HANDLE" && $2 == p &&
		$4 != ($3 % 2 ? "odd:" : "even:") $3 { print; exit }' "$out")
	check "every hit has label <even|odd>:<value>" "" "$bad"
	check "plugin:loaded hits from pid $app (constructor)" 1 \
		"$(awk -v p="$app" '$1 == "LOADED" && $2 == p' "$out" | wc -l)"
fi

# ---- 3. the plugin in a running process, bpftrace -p PID -----------------------------
k=5
out=$WORK/pid.out
"$dlopen" -l "$plugin" 0 20 >/dev/null &
app=$!
PIDS+=("$app")
echo "3. bpftrace -p $app (sample_dlopen, running) on plugin:handle, first $k hits"
if ! wait_for_line "/proc/$app/maps" "$(basename "$plugin")" 10 "$app"; then
	fail "sample_dlopen (pid $app) did not map $(basename "$plugin")"
else
	rc=0
	timeout 90 bpftrace -p "$app" -e "
usdt:$plugin:plugin:handle {
	@hits++;
	if (@hits <= $k) { printf(\"HANDLE %d %d %s\n\", pid, arg0, str(arg1)); }
	if (@hits == $k) { exit(); }
}" >"$out" 2>&1 || rc=$?
	show "$out" 4
	check "bpftrace -p exited 0 after $k hits" 0 "$rc"
	check "plugin:handle hits printed == $k" "$k" "$(awk -v p="$app" '$1 == "HANDLE" && $2 == p' "$out" | wc -l)"
	bad=$(awk -v p="$app" '$1 == "HANDLE" {
		if ($2 != p || $3 < 1 || (NR > 1 && prev != "" && $3 != prev + 1) ||
		    $4 != ($3 % 2 ? "odd:" : "even:") $3) { print; exit }
		prev = $3 }' "$out")
	check "hits are consecutive values with label <even|odd>:<value>" "" "$bad"
fi
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true

# ---- 4. the semaphore guard is seen by bpftrace, the NOP guard is not ----------------
n=12
out=$WORK/guards.out
echo "4. bpftrace -c '$(basename "$guards") $n 0' on guards:plain and guards:sem"
rc=0
timeout 90 bpftrace -e "
usdt:$guards:guards:plain { printf(\"PLAIN %d\n\", arg0); }
usdt:$guards:guards:sem { printf(\"SEM %d\n\", arg0); }" -c "$guards $n 0" >"$out" 2>&1 || rc=$?
show "$out" 4
check "bpftrace ran and exited 0" 0 "$rc"
check "the stapsdt note of guards:sem carries a semaphore" 1 \
	"$(readelf -n "$guards" | grep -A2 'Name: sem$' | grep -c 'Semaphore: 0x0*[1-9a-f]')"
check "guards:sem hits == $n (TRACEPOINT_ENABLED_SEM is true under bpftrace)" "$n" "$(grep -c '^SEM ' "$out" || true)"
check "guards:sem values are 1..$n" "$(seq 1 "$n" | xargs)" "$(awk '$1 == "SEM" { print $2 }' "$out" | sort -n | xargs)"
check "guards:plain hits == 0 (TRACEPOINT_ENABLED stays off under uprobes)" 0 "$(grep -c '^PLAIN ' "$out" || true)"
check "the app saw the semaphore guard true $n times, the plain one never" "plain 0 sem $n" \
	"$(grep '^plain ' "$out" || true)"

finish
