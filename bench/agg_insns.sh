#!/bin/sh
# Instructions of sled_dispatch per hit (aggregations and a plain event), counted by
# callgrind on bench_agg_insns: runs of N and 2N hits, differenced, so table inserts and
# start-up cancel out.  Deterministic: the figure does not move with the machine's load.
#
#   bench/agg_insns.sh [BUILD_DIR]
set -eu
build=${1:-build}
bin=$build/bench/bench_agg_insns
n=100000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() { # mode hits: Ir inside sled_dispatch
	valgrind --tool=callgrind --toggle-collect=sled_dispatch --callgrind-out-file="$tmp/out" \
		"$bin" "$1" "$2" >/dev/null 2>&1
	callgrind_annotate "$tmp/out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}
printf '%-34s %s\n' "hit (sled_dispatch inclusive)" "instructions"
for m in int hist str event; do
	a=$(ir $m $n)
	b=$(ir $m $((2 * n)))
	case $m in
	int) name="count() by (key), integer key" ;;
	hist) name="hist(len)" ;;
	str) name="count() by (path), string key" ;;
	event) name="plain event, two integers" ;;
	esac
	printf '%-34s %s\n' "$name" "$(echo "scale=1; ($b - $a) / $n" | bc)"
done
