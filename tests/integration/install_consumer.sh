#!/usr/bin/env bash
# `cmake --install` the build into a scratch prefix, then build a consumer against it both
# ways a user would (find_package(sled) and pkg-config), run it, and check that libsled is
# linked (DT_NEEDED, even under Debian's default --as-needed) and its notes are there.
# Usage: install_consumer.sh BUILD_DIR C_COMPILER
set -uo pipefail
build=$1 cc=$2
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { if [[ $2 == "$3" ]]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1: expected '$2', got '$3'"; fi; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1
check "cmake --install succeeds" 0 $?
for f in include/sled/tracepoint.h include/sled/sled.h lib/pkgconfig/sled.pc lib/cmake/sled/sledConfig.cmake bin/probed bin/probectl; do
	check "installed $f" yes "$([[ -e $tmp/prefix/$f ]] && echo yes || echo no)"
done

mkdir -p "$tmp/app"
cat >"$tmp/app/app.c" <<'C'
#include <sled/sled.h>
#include <sled/tracepoint.h>
#include <stdio.h>
int main(void) { TRACEPOINT(consumer, start, 1); puts(sled_runtime_version()); return 0; }
C
cat >"$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(sled REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE sled::shared)
CM
cmake -S "$tmp/app" -B "$tmp/app/b" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/cm.log" 2>&1 &&
	cmake --build "$tmp/app/b" >>"$tmp/cm.log" 2>&1
check "find_package(sled) consumer builds" 0 $?
out=$(LD_LIBRARY_PATH=$tmp/prefix/lib "$tmp/app/b/app" 2>&1)
check "it runs and reports the runtime version" yes "$([[ $out =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && echo yes || echo "no: $out")"
check "it needs libsled" 1 "$(readelf -d "$tmp/app/b/app" | grep -c 'NEEDED.*libsled')"

flags=$(PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig pkg-config --cflags --libs sled)
"$cc" "$tmp/app/app.c" -o "$tmp/app2" $flags 2>"$tmp/pc.log"
check "pkg-config consumer builds (relocated prefix)" 0 $?
check "it needs libsled too, despite --as-needed" 1 "$(readelf -d "$tmp/app2" | grep -c 'NEEDED.*libsled')"
check "its tracepoint is in .note.stapsdt" 1 "$(readelf -n "$tmp/app2" | grep -c 'Name: start')"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
