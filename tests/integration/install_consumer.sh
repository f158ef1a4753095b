#!/usr/bin/env bash
# `cmake --install` the build into a scratch prefix, then build a consumer against it both
# ways a user would (find_package(sled) and pkg-config), run it, and check that libsled is
# linked (DT_NEEDED, even under Debian's default --as-needed) and its notes are there.
# Then link libsled statically the three ways a user would (sled::static, pkg-config
# --static, a plain Makefile naming libsled.a) into an app that calls nothing in libsled,
# and check that each one runs the runtime: its agent thread is there.
# Usage: install_consumer.sh BUILD_DIR C_COMPILER
set -uo pipefail
build=$1 cc=$2
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { if [[ $2 == "$3" ]]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1: expected '$2', got '$3'"; fi; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1
check "cmake --install succeeds" 0 $?
for f in include/sled/tracepoint.h include/sled/sled.h lib/pkgconfig/sled.pc lib/pkgconfig/sled-runtime.pc lib/cmake/sled/sledConfig.cmake bin/probed bin/probectl; do
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

flags=$(PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig pkg-config --cflags --libs sled-runtime)
"$cc" "$tmp/app/app.c" -o "$tmp/app2" $flags 2>"$tmp/pc.log"
check "pkg-config consumer builds (relocated prefix)" 0 $?
check "it needs libsled too, despite --as-needed" 1 "$(readelf -d "$tmp/app2" | grep -c 'NEEDED.*libsled')"
check "its tracepoint is in .note.stapsdt" 1 "$(readelf -n "$tmp/app2" | grep -c 'Name: start')"

# ---- a project of two binaries where only the server should have sled mode: everything
# compiles with the headers (sled), only the server links the runtime (sled-runtime).
mkdir -p "$tmp/two"
cat >"$tmp/two/server.c" <<'C'
#include <sled/tracepoint.h>
int main(void) { TRACEPOINT(two, request, 1); return 0; }
C
cat >"$tmp/two/cli.c" <<'C'
#include <sled/tracepoint.h>
int main(void) { TRACEPOINT(two, command, 2); return 0; }
C
cat >"$tmp/two/Makefile" <<'MK'
# Every binary: the headers.  The server only: the runtime.
CFLAGS += $(shell pkg-config --cflags sled)
LDLIBS += $(shell pkg-config --libs sled)
all: server cli
server: LDLIBS += $(shell pkg-config --libs sled-runtime)
server: server.c
cli: cli.c
MK
PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig make -C "$tmp/two" CC="$cc" >"$tmp/two.log" 2>&1
check "two binaries, Makefile: builds" 0 $?
check "two binaries, Makefile: pkg-config --libs sled is empty (headers only)" "" \
	"$(PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig pkg-config --libs sled)"
check "two binaries, Makefile: the server needs libsled" 1 "$(readelf -d "$tmp/two/server" | grep -c 'NEEDED.*libsled')"
check "two binaries, Makefile: the CLI does not" 0 "$(readelf -d "$tmp/two/cli" | grep -c 'NEEDED.*libsled')"
check "two binaries, Makefile: both keep their tracepoints" "1 1" \
	"$(readelf -n "$tmp/two/server" | grep -c 'Name: request') $(readelf -n "$tmp/two/cli" | grep -c 'Name: command')"
cat >"$tmp/two/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(two C)
find_package(sled REQUIRED)
add_executable(server server.c)
target_link_libraries(server PRIVATE sled::runtime)
add_executable(cli cli.c)
target_link_libraries(cli PRIVATE sled::headers)
CM
cmake -S "$tmp/two" -B "$tmp/two/b" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/twocm.log" 2>&1 &&
	cmake --build "$tmp/two/b" >>"$tmp/twocm.log" 2>&1
check "two binaries, CMake: builds" 0 $?
check "two binaries, CMake: sled::runtime's server needs libsled" 1 "$(readelf -d "$tmp/two/b/server" | grep -c 'NEEDED.*libsled')"
check "two binaries, CMake: sled::headers' CLI does not" 0 "$(readelf -d "$tmp/two/b/cli" | grep -c 'NEEDED.*libsled')"

# ---- static links: the app references nothing in libsled, yet must carry the runtime.
cat >"$tmp/app/static_app.c" <<'C'
#include <sled/tracepoint.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
/* Prints "agent" once libsled's agent thread has named itself (at most 10 s). */
static int agent_running(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int found = 0;

	while (d && !found && (e = readdir(d))) {
		char path[64], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r"))) {
			found = fgets(comm, sizeof(comm), f) && !strcmp(comm, "sled-agent\n");
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return found;
}
#ifdef DEFERRED /* starts the runtime itself: no agent before sled_start() */
#include <sled/sled.h>
SLED_NO_AUTOSTART;
#endif
int main(void)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	TRACEPOINT(consumer, static_start, 1);
#ifdef DEFERRED
	printf("%s, ", agent_running() ? "agent before start" : "deferred");
	printf("start %d, ", sled_start(NULL));
#endif
	for (i = 0; i < 10000 && !agent_running(); i++)
		nanosleep(&ms, NULL);
	puts(agent_running() ? "agent" : "no agent");
	return 0;
}
C
cat >"$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(static_consumer C)
find_package(sled REQUIRED)
add_executable(static_app static_app.c)
target_link_libraries(static_app PRIVATE sled::static)
CM
rm -rf "$tmp/app/b"
cmake -S "$tmp/app" -B "$tmp/app/b" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/cms.log" 2>&1 &&
	cmake --build "$tmp/app/b" >>"$tmp/cms.log" 2>&1
check "sled::static consumer configures and builds" 0 $?
[[ -x $tmp/app/b/static_app ]] || sed 's/^/     | /' "$tmp/cms.log" | tail -n 5
static_checks() { # NAME BINARY
	check "$1: runs libsled's agent" agent "$("$2" 2>&1)"
	check "$1: does not need libsled.so" 0 "$(readelf -d "$2" 2>/dev/null | grep -c 'NEEDED.*libsled')"
	check "$1: carries sled_runtime_version (how probed knows)" 1 \
		"$(nm "$2" 2>/dev/null | grep -c ' T sled_runtime_version$')"
}
static_checks "sled::static" "$tmp/app/b/static_app"

flags=$(PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig pkg-config --static --cflags --libs sled-runtime)
"$cc" "$tmp/app/static_app.c" -o "$tmp/static_pc" -static $flags 2>"$tmp/pcs.log"
check "pkg-config --static consumer builds (-static)" 0 $?
static_checks "pkg-config --static" "$tmp/static_pc"

cat >"$tmp/app/Makefile" <<'MK'
# A plain Makefile: the archive by path, with the anchor named (or the whole archive).
CFLAGS = -O2 -I$(PREFIX)/include
static_app: static_app.c
	$(CC) $(CFLAGS) -o $@ $< $(PREFIX)/lib/libsled.a -Wl,--undefined=sled_runtime_anchor -lpthread
static_app_deferred: static_app.c
	$(CC) $(CFLAGS) -DDEFERRED -o $@ $< $(PREFIX)/lib/libsled.a -Wl,--undefined=sled_runtime_anchor -lpthread
static_app_whole: static_app.c
	$(CC) $(CFLAGS) -o $@ $< -Wl,--whole-archive $(PREFIX)/lib/libsled.a -Wl,--no-whole-archive -lpthread
MK
make -C "$tmp/app" CC="$cc" PREFIX="$tmp/prefix" static_app static_app_whole static_app_deferred >"$tmp/mk.log" 2>&1
check "plain make consumer builds" 0 $?
static_checks "make, --undefined" "$tmp/app/static_app"
static_checks "make, --whole-archive" "$tmp/app/static_app_whole"
check "static, SLED_NO_AUTOSTART: no agent until sled_start(), then the agent" "deferred, start 0, agent" \
	"$("$tmp/app/static_app_deferred" 2>&1)"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
