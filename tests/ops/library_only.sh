#!/usr/bin/env bash
# A library-only build (-DSLED_BUILD_DAEMON=OFF -DBUILD_TESTING=OFF) needs a C compiler
# and nothing else: no C++ compiler, no pkg-config look-up of libbpf, msgpack-c or
# libelf, no bpftool or clang for BPF.  It builds libsled and the samples and installs
# the library's files only.
# Usage: library_only.sh SOURCE_DIR C_COMPILER
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
src=$1 cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A C++ compiler that does not exist: configuring fails if anything enables C++.
cmake -S "$src" -B "$tmp/b" -DSLED_BUILD_DAEMON=OFF -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER=/nonexistent/c++ >"$tmp/configure.log" 2>&1
check "configures with no C++ compiler" 0 $?
cache=$tmp/b/CMakeCache.txt
check "looks for none of libbpf, msgpack, libelf, bpftool, clang, pkg-config" 0 \
	"$(grep -ciE '^(LIBBPF|MSGPACK|LIBELF|SLED_BPFTOOL|SLED_BPF_CLANG|PKG_CONFIG_EXECUTABLE)[_:]' "$cache")"
check "and says nothing about them" 0 "$(grep -ciE 'libbpf|msgpack|libelf|bpftool' "$tmp/configure.log")"
cmake --build "$tmp/b" -j2 >"$tmp/build.log" 2>&1
check "builds" 0 $?
check "no warnings" 0 "$(grep -c 'warning:' "$tmp/build.log")"
check "libsled is built" yes "$([[ -e $tmp/b/sdk/libsled.so && -e $tmp/b/sdk/libsled.a ]] && echo yes || echo no)"
check "a sample has its tracepoints" 3 "$(readelf -n "$tmp/b/samples/sample_basic" | grep -c 'Provider: sample')"
check "probed is not built" no "$([[ -e $tmp/b/probed/probed ]] && echo yes || echo no)"
cmake --install "$tmp/b" --prefix "$tmp/inst" >"$tmp/install.log" 2>&1
check "installs" 0 $?
check "the library's files, and sled(7)" yes \
	"$([[ -e $tmp/inst/include/sled/tracepoint.h && -e $tmp/inst/share/man/man7/sled.7 && -n $(ls "$tmp"/inst/lib*/pkgconfig/sled.pc 2>/dev/null) ]] && echo yes || echo no)"
check "no daemon files" 0 "$(find "$tmp/inst" -name 'probe*' | wc -l)"
summary
