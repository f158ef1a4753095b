#!/usr/bin/env bash
# cpack -G DEB makes libsled0, libsled-dev and probed with the right dependencies; they
# unpack (dpkg -x) into a scratch root, where a consumer builds against libsled-dev
# (pkg-config and find_package) and runs against libsled0, and probed's programs run.
# Usage: packages.sh BUILD_DIR C_COMPILER
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
build=$(realpath "$1") cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
major=$(sed -n 's/^CMAKE_PROJECT_VERSION_MAJOR:STATIC=//p' "$build/CMakeCache.txt")

(cd "$build" && cpack -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1
check "cpack -G DEB succeeds" 0 $?
for p in libsled$major libsled-dev probed; do
	check "package $p is made" 1 "$(ls "$tmp/pkg/${p}_"*.deb 2>/dev/null | wc -l)"
done
field() { dpkg-deb -f "$tmp/pkg/$1_"*.deb "$2"; }
deps() { field "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | sort | paste -sd' '; }
check "libsled$major depends on libc6 only" "libc6" "$(deps libsled$major)"
check "libsled-dev depends on the same libsled$major" "libsled$major (= $(field libsled$major Version))" "$(field libsled-dev Depends)"
check "probed's dependencies" "libbpf1 libc6 libelf1 libmsgpackc2 libssl3 zlib1g" \
	"$(deps probed | tr ' ' '\n' | grep -v '^libsled' | paste -sd' ')"
check "libsled$major has the shared library only" yes \
	"$(dpkg-deb -c "$tmp/pkg/libsled${major}_"*.deb | grep -E '\.(a|h|pc)$|\.so$' | wc -l | sed 's/^0$/yes/')"
check "every package carries its copyright file" 3 \
	"$(for d in "$tmp"/pkg/*.deb; do dpkg-deb -c "$d"; done | grep -c '/share/doc/[^/]*/copyright$')"

root=$tmp/root
for d in "$tmp"/pkg/*.deb; do dpkg -x "$d" "$root"; done
check "dpkg -x into a scratch root" 0 $?
r=$root$prefix
for f in include/sled/tracepoint.h "$libdir/pkgconfig/sled.pc" "$libdir/pkgconfig/sled-runtime.pc" "$libdir/libsled.so.$major" bin/probed \
	bin/probectl share/man/man1/probectl.1 share/man/man7/sled.7 share/man/man8/probed.8 \
	share/bash-completion/completions/probectl; do
	check "installed $f" yes "$([[ -e $r/$f ]] && echo yes || echo no)"
done
unit=$(find "$root" -name probed.service)
check "the unit's ExecStart is the packaged probed" "ExecStart=$prefix/bin/probed" \
	"$(grep -o '^ExecStart=[^ ]*' "$unit")"
check "the packaged probectl runs" yes "$("$r/bin/probectl" --version | grep -c '^probectl ' >/dev/null && echo yes || echo no)"

cat >"$tmp/app.c" <<'C'
#include <sled/sled.h>
#include <sled/tracepoint.h>
#include <stdio.h>
int main(void) { TRACEPOINT(pkg, start, 1); puts(sled_runtime_version()); return 0; }
C
# sled.pc (and sled-runtime.pc) find their prefix from their own place: PKG_CONFIG_PATH into the root is enough.
flags=$(PKG_CONFIG_PATH=$r/$libdir/pkgconfig PKG_CONFIG_LIBDIR=/nonexistent pkg-config --cflags --libs sled-runtime)
inc=$(sed -n 's/^-I\([^ ]*\) .*/\1/p' <<<"$flags")
check "pkg-config points into the scratch root" "$r/include" "$(realpath -m "$inc")"
"$cc" "$tmp/app.c" -o "$tmp/app" $flags 2>"$tmp/cc.log"
check "a consumer builds against libsled-dev" 0 $?
check "it runs against libsled$major" yes "$(LD_LIBRARY_PATH=$r/$libdir "$tmp/app" | grep -cx '[0-9.]*' >/dev/null && echo yes || echo no)"
check "it links the packaged libsled" yes "$(LD_LIBRARY_PATH=$r/$libdir ldd "$tmp/app" | grep -c "$r/$libdir/libsled.so.$major" >/dev/null && echo yes || echo no)"
mkdir "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(sled REQUIRED)
add_executable(app $tmp/app.c)
target_link_libraries(app PRIVATE sled::shared)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$r" >"$tmp/cm.log" 2>&1 &&
	cmake --build "$tmp/cm/b" >>"$tmp/cm.log" 2>&1
check "a find_package(sled) consumer builds too" 0 $?
summary
