#!/usr/bin/env bash
# The man pages format without a single warning (groff, man; mandoc's linter when
# installed), and each has the sections a reader looks for.
# Usage: man_pages.sh MAN_SOURCE_DIR
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
dir=$1
for page in probectl.1 probed.8 sled.7; do
	f=$dir/$page
	out=$(groff -man -ww -z "$f" 2>&1)
	check "groff -man -ww: $page is clean" "" "$out"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	check "man --warnings: $page is clean" "" "$out"
	if command -v mandoc >/dev/null; then
		out=$(mandoc -T lint -W warning "$f" 2>&1)
		check "mandoc -T lint: $page is clean" "" "$out"
	fi
	for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		check "$page has $section" 1 "$(grep -c "^\.SH \"\?$section\"\?$" "$f")"
	done
done
check "probectl(1) documents the filter syntax" 1 "$(grep -c '^\.SH FILTERS' "$dir/probectl.1")"
check "probed(8) lists its capabilities" 1 "$(grep -c '^\.SH PRIVILEGES' "$dir/probed.8")"
check "sled(7) has the event schema" 1 "$(grep -c '^\.SH EVENT SCHEMA' "$dir/sled.7")"
summary
