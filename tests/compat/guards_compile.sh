#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# guards_compile.sh INCLUDE_DIR - both guards, several in one function, against every
# compiler, language standard, optimisation level and code model the header supports:
#  - each object compiles warning-free with -Wall -Wextra -Werror -pedantic (clang 14 in
#    C++ once rejected a second guard in a function: "cannot jump from this asm goto");
#  - the stapsdt note of the semaphore-guarded tracepoint points to its semaphore, that of
#    the plain one has none;
#  - linked into a program, the semaphore is one 2-byte object in .probes, shared by the
#    two guards and the note, and the program runs with both guards false.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/compat_lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 INCLUDE_DIR"; exit 2; }
inc=$1
WORK=$(mktemp -d /tmp/sled-guards.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/guards.c" <<'C'
#include <sled/tracepoint.h>
int guarded(int x);
int guarded(int x)
{
	int r = 0;

	if (TRACEPOINT_ENABLED_SEM(m, sem)) {
		TRACEPOINT(m, sem, x);
		r |= 1;
	}
	if (TRACEPOINT_ENABLED_SEM(m, sem))
		r |= 2;
	if (TRACEPOINT_ENABLED(m, plain)) {
		TRACEPOINT(m, plain, x);
		r |= 4;
	}
	if (TRACEPOINT_ENABLED(m, plain))
		r |= 8;
	return r;
}
C
cat >"$WORK/main.c" <<'C'
#include <sled/tracepoint.h>
int guarded(int x);
/* A tracepoint of m:sem in another file: its note must find the same semaphore. */
int main(int argc, char **argv)
{
	(void)argv;
	TRACEPOINT(m, sem, argc);
	return guarded(argc);
}
C

# sems PROGRAM NAME: the distinct semaphore fields of NAME's stapsdt notes.
sems() {
	readelf -n "$1" | awk -v n="$2" '$1 == "Name:" { cur = $2 }
		/Semaphore:/ && cur == n { print $6 }' | sort -u | xargs
}

for cc in gcc clang; do
	for std in c99 c11 c++11 c++17; do
		comp=$cc lang=c
		if [[ $std == c++* ]]; then
			lang=c++
			[[ $cc == gcc ]] && comp=g++ || comp=clang++
		fi
		for o in O0 O2 O3; do
			for model in pie nopie shared; do
				tag="$cc:$std:$o:$model"
				case $model in
				pie) cflags=-fPIE link=(-pie) ;;
				nopie) cflags=-fno-pic link=(-no-pie) ;;
				shared) cflags=-fPIC link=(-shared) ;;
				esac
				out=$WORK/prog
				if ! $comp -x $lang -std=$std -$o $cflags -Wall -Wextra -Werror -pedantic \
					-I"$inc" -c "$WORK/guards.c" -o "$WORK/g.o" 2>"$WORK/err" ||
					! $comp -x $lang -std=$std -$o $cflags -I"$inc" -c "$WORK/main.c" \
						-o "$WORK/m.o" 2>>"$WORK/err"; then
					fail "$tag: does not compile: $(head -n 1 "$WORK/err")"
					continue
				fi
				if [[ $model == shared ]]; then
					$comp "${link[@]}" "$WORK/g.o" -o "$WORK/lib.so"
					out=$WORK/lib.so
				else
					$comp "${link[@]}" "$WORK/g.o" "$WORK/m.o" -o "$out"
				fi
				sem=$(nm -S "$out" | awk '/ sled_sem_m__sem$/ { print $1, $2 }')
				check "$tag: one 2-byte semaphore in .probes" "1 0000000000000002" \
					"$(echo "$sem" | grep -c . ) $(echo "$sem" | awk '{ print $2 }')"
				check "$tag: every m:sem note points to it, m:plain's to none" \
					"0x${sem%% *} 0x0000000000000000" "$(sems "$out" sem) $(sems "$out" plain)"
				if [[ $model != shared ]]; then
					rc=0
					"$out" || rc=$?
					check "$tag: runs with both guards false" 0 "$rc"
				fi
			done
		done
	done
done

finish
