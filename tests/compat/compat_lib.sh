# SPDX-License-Identifier: MIT
# compat_lib.sh - shared by the compat tests: pass/fail counting and reading the sites
# of an ELF file.  Source it.

COMPAT_PASSED=0
COMPAT_FAILED=0

pass() { COMPAT_PASSED=$((COMPAT_PASSED + 1)); echo "ok   $*"; }
fail() { COMPAT_FAILED=$((COMPAT_FAILED + 1)); echo "FAIL $*"; }

# check DESCRIPTION EXPECTED ACTUAL: pass when equal, else fail showing both.
check() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# finish: the summary line; the exit status says whether everything passed.
finish() {
	echo "$COMPAT_PASSED passed, $COMPAT_FAILED failed"
	[ "$COMPAT_FAILED" -eq 0 ] && [ "$COMPAT_PASSED" -gt 0 ]
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root"
		exit 0
	fi
}

need_tool() {
	command -v "$1" >/dev/null || { fail "$1 not found"; finish || exit 1; }
}

# stapsdt_sites FILE: one line per .note.stapsdt entry, "provider name 0xaddr", sorted,
# as readelf -n decodes them (the reference the consumers are compared with).
stapsdt_sites() {
	readelf -n "$1" | awk '
		/Provider:/ { sub(/.*Provider: */, ""); p = $1 }
		/^ +Name:/ { n = $2 }
		/^ +Location:/ { sub(",", "", $2); print p, n, $2 }' | sort
}

# stapsdt_names FILE: the distinct provider:name pairs, sorted, space separated.
stapsdt_names() {
	stapsdt_sites "$1" | awk '{ print $1 ":" $2 }' | sort -u | xargs
}

# need_files FILE...: every file must exist (a sample that did not build fails fast).
need_files() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || { fail "$f does not exist (not built?)"; finish || exit 1; }
	done
}

# wait_for_line FILE REGEX SECONDS [PID]: wait until FILE has a line matching REGEX;
# give up early if process PID is gone.
wait_for_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}
