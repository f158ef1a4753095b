#!/usr/bin/env bash
# probectl list: every bad input gives one "Error: ..." line and a non-zero exit.
# Usage: list_errors.sh PROBECTL
set -uo pipefail
probectl=$1
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME EXIT_CODE MESSAGE_SUBSTRING -- ARGS...
expect() {
	local name=$1 code=$2 msg=$3
	shift 4
	local err rc
	err=$("$probectl" "$@" 2>&1 >/dev/null)
	rc=$?
	if [[ $rc -eq $code && $(printf '%s\n' "$err" | wc -l) -eq 1 && $err == Error:*"$msg"* ]]; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); echo "FAIL $name: exit $rc, stderr: $err"
	fi
}

printf 'not an elf file\n' >"$tmp/text"
: >"$tmp/empty"
printf '\177ELF\002\001\001' >"$tmp/truncated-elf"
cp /bin/true "$tmp/other-arch"  # e_machine := EM_386
printf '\003\000' | dd of="$tmp/other-arch" bs=1 seek=18 conv=notrunc status=none
cp "$tmp/empty" "$tmp/unreadable"; chmod 000 "$tmp/unreadable"

expect missing-file     1 "No such file"         -- list -b "$tmp/nope"
expect directory        1 "not a regular file"   -- list -b "$tmp"
expect empty-file       1 "not an ELF file"      -- list -b "$tmp/empty"
expect text-file        1 "not an ELF file"      -- list -b "$tmp/text"
expect truncated-elf    1 "not an ELF"           -- list -b "$tmp/truncated-elf"
expect no-such-pid      1 "no such process"      -- list -p 4194000
expect bad-pid          2 "bad PID"              -- list -p 12abc
expect negative-pid     2 "bad PID"              -- list -p -5
expect both-b-and-p     2 "mutually exclusive"   -- list -b /bin/true -p 1
expect bad-pattern      2 "bad character"        -- list 'a b' -b /bin/true
expect extra-argument   2 "unexpected argument"  -- list a b -b /bin/true
expect unknown-command  2 "unknown command"      -- frobnicate
expect other-arch       1 "not an x86-64"        -- list -b "$tmp/other-arch"

# Permission: an unprivileged user can neither read a 000 file nor another user's process.
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null; then
	chmod 755 "$tmp"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	err=$(as_nobody "$probectl" list -b "$tmp/unreadable" 2>&1 >/dev/null); rc=$?
	if [[ $rc -eq 1 && $err == Error:*"Permission denied"* ]]; then passed=$((passed + 1)); echo "ok   unreadable-file-as-nobody"
	else failed=$((failed + 1)); echo "FAIL unreadable-file-as-nobody: exit $rc, $err"; fi
	err=$(as_nobody "$probectl" list -p 1 2>&1 >/dev/null); rc=$?
	if [[ $rc -eq 1 && $err == Error:*"Permission denied"* ]]; then passed=$((passed + 1)); echo "ok   other-users-process-as-nobody"
	else failed=$((failed + 1)); echo "FAIL other-users-process-as-nobody: exit $rc, $err"; fi
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
