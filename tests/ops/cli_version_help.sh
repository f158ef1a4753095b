#!/usr/bin/env bash
# --version of both programs, and one help page per probectl command, reached both as
# `probectl help CMD` and `probectl CMD --help`.
# Usage: cli_version_help.sh PROBECTL PROBED PROJECT_VERSION
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
probectl=$1 probed=$2 version=$3
re="^(probectl|probed) ${version//./\\.} \(shm layout [0-9]+, control protocol [0-9]+\)$"

for prog in "$probectl" "$probed"; do
	name=$(basename "$prog")
	out=$("$prog" --version 2>&1)
	check "$name --version exits 0" 0 $?
	check "$name --version is one line: $out" yes "$([[ $out =~ $re && $out == "$name "* ]] && echo yes || echo no)"
done
check "both report the same interface versions" "$("$probectl" --version | cut -d' ' -f2-)" "$("$probed" --version | cut -d' ' -f2-)"
check "probed --help mentions --version" 1 "$("$probed" --help | grep -c -- '--version')"
check "probectl help mentions per-command help" 1 "$("$probectl" help 2>&1 | grep -c 'probectl COMMAND --help')"

for cmd in list enable disable status tail top; do
	a=$("$probectl" help "$cmd" 2>&1)
	check "help $cmd exits 0" 0 $?
	check "help $cmd starts with its usage" yes "$([[ $a == "Usage: probectl $cmd"* ]] && echo yes || echo no)"
	b=$("$probectl" "$cmd" --help 2>&1)
	check "$cmd --help exits 0" 0 $?
	check "$cmd --help is the same page" "$a" "$b"
	c=$("$probectl" "$cmd" -h 2>&1)
	check "$cmd -h is the same page" "$a" "$c"
done
check "enable's page has the filter syntax" 1 "$("$probectl" help enable | grep -c '^Filter syntax')"
check "enable's page has the pattern syntax" 1 "$("$probectl" help enable | grep -c '^PATTERN is provider:name')"
check "enable's page has every option" 7 "$("$probectl" help enable | grep -cE '^  +(-p, --pid|-b, --binary|--mode|--filter|--sample|--rate|--count-only) ')"
check "help takes effect anywhere in the command's words" "$("$probectl" help enable)" "$("$probectl" enable 'x:*' --rate 5/s --help 2>&1)"
out=$("$probectl" help frobnicate 2>&1)
check "help of an unknown command exits 2" 2 $?
check "with one Error: line" yes "$([[ $out == Error:* && $(wc -l <<<"$out") -eq 1 ]] && echo yes || echo "no: $out")"
summary
