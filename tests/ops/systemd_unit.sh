#!/usr/bin/env bash
# The generated probed.service: what it runs and how it is sandboxed, `systemd-analyze
# verify` clean, and `systemd-analyze security` no worse than the exposure the README
# records.  Verified with ExecStart pointed at the built probed (verify wants the binary
# to exist; the unit itself names the install prefix).
# Usage: systemd_unit.sh UNIT BUILT_PROBED INSTALL_BINDIR
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
unit=$1 probed=$(realpath "$2") bindir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
val() { grep -E "^$1=" "$unit" | cut -d= -f2-; }

check "Type=notify" notify "$(val Type)"
check "ExecStart is the installed probed" "$bindir/probed" "$(val ExecStart | cut -d' ' -f1)"
check "the socket lives in the RuntimeDirectory" yes "$([[ $(val ExecStart) == *"-S %t/probed/probed.sock"* && $(val RuntimeDirectory) == probed ]] && echo yes || echo no)"
check "events go to the LogsDirectory" yes "$([[ $(val ExecStart) == *"%L/probed/"* && $(val LogsDirectory) == probed ]] && echo yes || echo no)"
check "no mkdir, no fixed /var or /run path" 0 "$(grep -E '^Exec' "$unit" | grep -cE 'mkdir|/var/|/run/')"
check "NoNewPrivileges" yes "$(val NoNewPrivileges)"
check "ProtectSystem=strict" strict "$(val ProtectSystem)"
check "ProtectHome=read-only" read-only "$(val ProtectHome)"
check "bounding set" "CAP_DAC_OVERRIDE CAP_SYS_ADMIN CAP_SYS_PTRACE" \
	"$(val CapabilityBoundingSet | tr ' ' '\n' | sort | paste -sd' ')"

if ! command -v systemd-analyze >/dev/null; then
	echo "# systemd-analyze not installed: verify and security skipped"
	summary
	exit
fi
sed "s|^ExecStart=$bindir/probed|ExecStart=$probed|" "$unit" >"$tmp/probed.service"
out=$(systemd-analyze verify --man=no "$tmp/probed.service" 2>&1)
check "systemd-analyze verify is clean" "" "$out"
out=$(systemd-analyze security --offline=yes "$tmp/probed.service" 2>&1 | grep 'Overall exposure')
score=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$out")
echo "# $out"
check "systemd-analyze security: exposure 4.7 or better (README)" yes \
	"$(awk -v s="$score" 'BEGIN { print (s != "" && s <= 4.7) ? "yes" : "no: " s }')"
summary
