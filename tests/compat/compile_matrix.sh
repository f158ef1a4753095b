#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# compile_matrix.sh [INCLUDE_DIR] - <sled/tracepoint.h> across compilers, languages,
# optimization levels and object kinds, checked in the built ELF files.
#
# Builds tp_matrix.c (C) / tp_matrix.cpp (C++) with gcc and clang, -std=c99, c11,
# c++11, c++17, at -O0, -O2, -O3, as a PIE executable, a non-PIE executable and a shared
# library, plus an executable linked with -ffunction-sections -Wl,--gc-sections (by
# ld.bfd and by lld), and links by gold and lld.  (gold with --gc-sections is left out:
# it rejects any note, ours or <sys/sdt.h>'s, whose code it discarded.)  And C++ with an
# inline function defined in two translation units: COMDAT folding keeps one copy
# and the notes of that copy only (ld.bfd, lld, gold).
# Everything is compiled with -Wall -Wextra -Werror -pedantic.  For each object:
#   sites     readelf -n shows one stapsdt note per expected site (counted per name)
#   bytes     at every stapsdt pc the file holds 90 0f 1f 44 00 00 (1-byte NOP + sled)
#   sled      .note.sled has a site note at exactly the stapsdt pcs, provider and name
#             matching, and one guard note for TRACEPOINT_ENABLED(matrix, guarded) at
#             a 5-byte NOP; no note anywhere has pc 0
#   base      every stapsdt note's base is the address of .stapsdt.base
#   types     the metadata of each site note holds the right argument count and type
#             codes (every integer width, bool, float, double, strings, pointers, enum)
#   run       executables run and exit 0 (the guard is off)
#   gc        (--gc-sections only) tpm_unused is gone and so are its notes
#   comdat    (COMDAT variants) one matrix:comdat site, not two, none with pc 0
# Then tp_bad.c: must compile as is, and must fail to compile with 13 arguments, a
# non-identifier provider or name, or an argument of unsupported type.
#
# One line per failure naming the variant, then "N passed, N failed".  Exit 1 on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JOBS=${JOBS:-2}

# ---- the checks for one built object ------------------------------------------------

# Notes of one section, parsed from the raw bytes (readelf does not decode .note.sled):
# one line per note: "owner type pc word2 word3 provider name", numbers in decimal.
# Both stapsdt and sled descriptors start with three 8-byte words, then provider\0 name\0.
raw_notes() { # FILE SECTION
	local file=$1 sec=$2 line off size
	line=$(readelf -SW "$file" | sed 's/^ *\[ *[0-9]*\]//' | awk -v s="$sec" '$1 == s')
	[ -n "$line" ] || return 0
	off=$((16#$(awk '{print $4}' <<<"$line")))
	size=$((16#$(awk '{print $5}' <<<"$line")))
	od -An -v -tu1 -j "$off" -N "$size" "$file" | tr -s ' \n' '\n\n' | sed '/^$/d' | awk '
		{ b[n++] = $1 }
		function u32(i) { return b[i] + 256 * (b[i+1] + 256 * (b[i+2] + 256 * b[i+3])) }
		function u64(i,   v, k) { v = 0; for (k = 7; k >= 0; k--) v = v * 256 + b[i+k]; return v }
		function cstr(i,   s) { s = ""; while (i < n && b[i] != 0) s = s sprintf("%c", b[i++]); return s }
		function al4(x) { return int((x + 3) / 4) * 4 }
		END {
			i = 0
			while (i + 12 <= n) {
				namesz = u32(i); descsz = u32(i + 4); type = u32(i + 8)
				owner = cstr(i + 12); d = i + 12 + al4(namesz)
				prov = cstr(d + 24); name = cstr(d + 25 + length(prov))
				printf "%s %d %.0f %.0f %.0f %s %s\n", owner, type, u64(d), u64(d + 8), u64(d + 16), prov, name
				i = d + al4(descsz)
			}
		}'
}

# The PT_LOAD program headers of FILE, "offset vaddr filesz" a line: set LOADS to this
# before calling bytes_at on FILE.
load_table() { readelf -lW "$1" | awk '$1 == "LOAD" { print $2, $3, $5 }'; }

# The bytes of FILE at virtual address VADDR (COUNT of them, hex, space separated),
# mapped to a file offset through the PT_LOAD program headers in LOADS.
bytes_at() { # FILE VADDR COUNT
	local file=$1 vaddr=$(($2)) count=$3 offset virt filesz
	while read -r offset virt filesz; do
		if [ "$vaddr" -ge $((virt)) ] && [ "$vaddr" -lt $((virt + filesz)) ]; then
			od -An -v -tx1 -j $((vaddr - virt + offset)) -N "$count" "$file" | xargs
			return
		fi
	done <<<"$LOADS"
	echo "unmapped"
}

# check_object VARIANT FILE EXPECTED...   EXPECTED: provider:name=count (stapsdt sites)
# Prints "ok VARIANT" or "FAIL VARIANT: reason" (first reason only).
check_object() {
	local variant=$1 file=$2; shift 2
	local fail="" stap sled want pc count got base_addr
	LOADS=$(load_table "$file")

	stap=$(readelf -n "$file" | awk '
		/Provider:/ { sub(/.*Provider: */, ""); p = $1 } /^ +Name:/ { n = $2 }
		function hex(s,   v, i) { v = 0; s = tolower(substr(s, 3))
			for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v }
		/^ +Location:/ { gsub(",", ""); printf "%s:%s %.0f %.0f\n", p, n, hex($2), hex($4) }')
	sled=$(raw_notes "$file" .note.sled)

	for want in "$@"; do
		count=$(awk -v k="${want%=*}" '$1 == k' <<<"$stap" | wc -l)
		[ "$count" -eq "${want#*=}" ] || { fail="stapsdt ${want%=*}: $count sites, expected ${want#*=}"; break; }
	done
	got=$(awk 'NF { print $1 }' <<<"$stap" | sort -u | tr '\n' ' ')
	for name in $got; do
		case " $* " in *" $name="*) ;; *) fail=${fail:-"unexpected stapsdt site $name"} ;; esac
	done

	if [ -z "$fail" ]; then
		base_addr=$(readelf -SW "$file" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".stapsdt.base" { print "0x" $3 }')
		[ -z "$base_addr" ] || base_addr=$((base_addr))
		[ -n "$base_addr" ] || fail="no .stapsdt.base section"
	fi
	if [ -z "$fail" ]; then
		while read -r key pc base; do
			[ -n "$key" ] || continue
			[ $((pc)) -ne 0 ] || { fail="stapsdt $key has pc 0"; break; }
			[ $((base)) -eq $((base_addr)) ] || { fail="stapsdt $key base $base != .stapsdt.base $base_addr"; break; }
			got=$(bytes_at "$file" "$pc" 6)
			[ "$got" = "90 0f 1f 44 00 00" ] ||
				{ fail="stapsdt $key at $(printf 0x%x "$pc"): bytes '$got', expected '90 0f 1f 44 00 00'"; break; }
			[ "$(awk -v pc="$pc" -v k="$key" '$1 == "sled" && $2 == 1 && $3 == pc && $6 ":" $7 == k' <<<"$sled" | wc -l)" -eq 1 ] ||
				{ fail="no .note.sled site note for stapsdt $key at $(printf 0x%x "$pc")"; break; }
		done <<<"$stap"
	fi
	if [ -z "$fail" ]; then
		# As many sled site notes as stapsdt notes, none at pc 0.
		[ "$(awk '$1 == "sled" && $2 == 1' <<<"$sled" | wc -l)" -eq "$(awk 'NF' <<<"$stap" | wc -l)" ] ||
			fail=".note.sled has $(awk '$1 == "sled" && $2 == 1' <<<"$sled" | wc -l) site notes, stapsdt $(awk 'NF' <<<"$stap" | wc -l)"
		if awk '$1 == "sled" && $3 == 0 { found = 1 } END { exit !found }' <<<"$sled"; then
			fail=${fail:-"a .note.sled note has pc 0"}
		fi
	fi
	if [ -z "$fail" ]; then
		# Exactly one guard, for matrix:guarded, at a 5-byte NOP, with a target.
		got=$(awk '$1 == "sled" && $2 == 2 { print $6 ":" $7, $3, $4 }' <<<"$sled")
		if [ "$(awk 'NF' <<<"$got" | wc -l)" -ne 1 ] || [ "$(awk '{print $1}' <<<"$got")" != "matrix:guarded" ]; then
			fail="guard notes: '$(tr '\n' ';' <<<"$got")', expected one for matrix:guarded"
		else
			read -r _ pc target <<<"$got"
			[ $((target)) -ne 0 ] || fail="guard note target is 0"
			got=$(bytes_at "$file" "$pc" 5)
			[ "$got" = "0f 1f 44 00 00" ] ||
				fail=${fail:-"guard at $(printf 0x%x "$pc"): bytes '$got', expected '0f 1f 44 00 00'"}
		fi
	fi
	if [ -n "$fail" ]; then echo "FAIL $variant: $fail"; else echo "ok   $variant"; fi
}

# check_types VARIANT FILE KEY=BYTES...: the metadata a .note.sled site note points at
# starts with version 1, the argument count and the 12 type codes (hex, as od prints).
check_types() {
	local variant=$1 file=$2 want key meta got notes; shift 2
	LOADS=$(load_table "$file")
	notes=$(raw_notes "$file" .note.sled)
	for want in "$@"; do
		key=${want%%=*}
		meta=$(awk -v k="$key" '$2 == 1 && $6 ":" $7 == k { print $5; exit }' <<<"$notes")
		got=$(bytes_at "$file" "${meta:-0}" 14)
		if [ "$got" != "${want#*=}" ]; then
			echo "FAIL $variant: $key metadata (version nargs types) '$got', expected '${want#*=}'"
			return
		fi
	done
	echo "ok   $variant types"
}

# ---- one variant: build it, check it ------------------------------------------------

# variant = CC:STD:OPT:KIND, e.g. gcc:c99:O2:pie; CC is gcc or clang (C++: g++/clang++)
run_variant() {
	local variant=$1 cc std opt kind compiler src out log flags=() link=() extra=()
	IFS=: read -r cc std opt kind <<<"$variant"
	case $std in
	c++*) src=$HERE/tp_matrix.cpp; compiler=${cc/gcc/g++}; [ "$cc" = clang ] && compiler=clang++ ;;
	*) src=$HERE/tp_matrix.c; compiler=$cc ;;
	esac
	flags=(-std="$std" -"$opt" -Wall -Wextra -Werror -pedantic -I"$INCLUDE_DIR")
	case $kind in
	pie) link=(-fPIE -pie) ;;
	nopie) link=(-fno-pie -no-pie) ;;
	shared) link=(-fPIC -shared -DTP_MATRIX_SHARED) ;;
	gc) link=(-fPIE -pie -ffunction-sections -fdata-sections -Wl,--gc-sections) ;;
	gc-lld) link=(-fPIE -pie -ffunction-sections -fdata-sections -Wl,--gc-sections -fuse-ld=lld) ;;
	gold) link=(-fPIE -pie -fuse-ld=gold) ;;
	shared-lld) link=(-fPIC -shared -DTP_MATRIX_SHARED -fuse-ld=lld) ;;
	comdat*) link=(-fPIE -pie -DTP_MATRIX_COMDAT); extra=("$HERE/tp_comdat.cpp")
		[ "$kind" = comdat ] || link+=(-fuse-ld="${kind#comdat-}") ;;
	esac
	out=$WORK/${variant//:/_}
	case $kind in shared*) out=$out.so ;; esac
	log=$out.log
	if ! "$compiler" "${flags[@]}" "${link[@]}" "$src" "${extra[@]}" -o "$out" >"$log" 2>&1; then
		echo "FAIL $variant: does not compile: $(grep -m1 -E 'error|warning' "$log" || head -n1 "$log")"
		return
	fi
	local expect=(matrix:zero=1 matrix:twelve=1 matrix:ints=1 matrix:others=1
		matrix:inlined=3 matrix:guarded=1 matrix:unused=1)
	[ "${kind%-*}" != comdat ] || expect+=(matrix:comdat=1)
	if [ "${kind%-*}" = gc ]; then
		expect=("${expect[@]:0:6}")
		if nm "$out" | awk '$3 == "tpm_unused" { found = 1 } END { exit !found }'; then
			echo "FAIL $variant: tpm_unused was not garbage-collected (the check would prove nothing)"
			return
		fi
		if readelf -n "$out" | grep -c 'Name: unused' >/dev/null; then
			echo "FAIL $variant: the notes of garbage-collected tpm_unused survived"
			return
		fi
	fi
	if [ "${kind%-*}" != shared ]; then
		local rc=0
		"$out" >>"$log" 2>&1 || rc=$?
		[ "$rc" -eq 0 ] || { echo "FAIL $variant: the executable exited with $rc"; return; }
	fi
	check_object "$variant" "$out" "${expect[@]}"
	# Type codes: I8..I64 01..04, U8..U64 05..08, bool 09, float 0a, double 0b,
	# string 0c, pointer 0d.  b != 0 is an int in C and a bool in C++.
	local cmp=03
	case $std in c++*) cmp=09 ;; esac
	check_types "$variant" "$out" \
		"matrix:zero=01 00 00 00 00 00 00 00 00 00 00 00 00 00" \
		"matrix:ints=01 08 01 02 03 04 05 06 07 08 00 00 00 00" \
		"matrix:others=01 09 09 0a 0b 0c 0c 0c 0d 0d 07 00 00 00" \
		"matrix:twelve=01 0c 04 03 02 05 04 03 04 04 $cmp 08 0d 04"
}

# variant = bad:CC:LANG:N: tp_bad with TP_BAD=N must fail to compile (N=none: must compile)
run_bad() {
	local variant=$1 cc lang n compiler src what out log
	IFS=: read -r _ cc lang n <<<"$variant"
	if [ "$lang" = c++ ]; then
		src=$HERE/tp_bad.cpp; compiler=${cc/gcc/g++}; [ "$cc" = clang ] && compiler=clang++
	else
		src=$HERE/tp_bad.c; compiler=$cc
	fi
	out=$WORK/${variant//:/_}.o
	log=$out.log
	case $n in
	none) if "$compiler" -std="${lang/c++/c++11}" -Wall -Wextra -Werror -pedantic -I"$INCLUDE_DIR" \
			-c "$src" -o "$out" >"$log" 2>&1; then
			echo "ok   $variant (compiles)"
		else
			echo "FAIL $variant: the control (no bad tracepoint) does not compile: $(grep -m1 error "$log")"
		fi
		return ;;
	1) what="13 arguments" ;;
	2) what="provider my-prov" ;;
	3) what="name bad.name" ;;
	4) what="a struct argument" ;;
	esac
	if "$compiler" -std="${lang/c++/c++11}" -Wall -Wextra -pedantic -I"$INCLUDE_DIR" -DTP_BAD="$n" \
		-c "$src" -o "$out" >"$log" 2>&1; then
		echo "FAIL $variant: a tracepoint with $what compiled"
	elif [ "$n" = 1 ] && ! grep -q at_most_12_arguments "$log"; then
		echo "FAIL $variant: 13 arguments rejected without naming the limit: $(grep -m1 error "$log")"
	else
		echo "ok   $variant (rejected: $what)"
	fi
}

if [ "${1:-}" = --one ]; then
	case $2 in
	bad:*) run_bad "$2" ;;
	*) run_variant "$2" ;;
	esac
	exit 0
fi

# ---- the matrix ---------------------------------------------------------------------

INCLUDE_DIR=$(cd "${1:-$HERE/../../include}" && pwd)
[ -f "$INCLUDE_DIR/sled/tracepoint.h" ] || { echo "compile_matrix: no sled/tracepoint.h in $INCLUDE_DIR"; exit 1; }
for tool in gcc g++ clang clang++ readelf nm od ld.lld ld.gold; do
	command -v "$tool" >/dev/null || { echo "compile_matrix: $tool not found"; exit 1; }
done
WORK=$(mktemp -d /tmp/sled-compile-matrix.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export INCLUDE_DIR WORK

variants() {
	local cc std opt kind n lang
	for cc in gcc clang; do
		for std in c99 c11 c++11 c++17; do
			for opt in O0 O2 O3; do
				for kind in pie nopie shared; do
					echo "$cc:$std:$opt:$kind"
				done
			done
		done
		for std in c11 c++17; do
			for opt in O0 O2; do echo "$cc:$std:$opt:gc"; done
			echo "$cc:$std:O2:gc-lld"
		done
		echo "$cc:c11:O2:gold"
		for opt in O0 O2; do echo "$cc:c++17:$opt:comdat"; done
		echo "$cc:c++11:O0:comdat-lld"
		echo "$cc:c++11:O0:comdat-gold"
		echo "$cc:c11:O2:shared-lld"
		for lang in c99 c++; do
			for n in none 1 2 3 4; do echo "bad:$cc:$lang:$n"; done
		done
	done
}

echo "compile_matrix: <sled/tracepoint.h> from $INCLUDE_DIR"
results=$(variants | xargs -P "$JOBS" -I{} bash "${BASH_SOURCE[0]}" --one {})
passed=$(grep -c '^ok' <<<"$results" || true)
failed=$(grep -c '^FAIL' <<<"$results" || true)
grep '^FAIL' <<<"$results" || true
[ -n "${VERBOSE:-}" ] && grep '^ok' <<<"$results"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
