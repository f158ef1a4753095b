#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, builds, runs ctest, then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the suites that
# exercise our own code under them.  Exits non-zero on any failure.
#
#   scripts/test.sh            everything
#   SLED_SKIP_SANITIZE=1 ...   skip the sanitizer pass (quicker local runs)
#   SLED_SKIP_FUZZ=1 ...       skip the libFuzzer runs
set -euo pipefail
SLED_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SLED_ROOT
# shellcheck source=lib/deps.sh
. "$SLED_ROOT/scripts/lib/deps.sh"
# shellcheck source=lib/build.sh
. "$SLED_ROOT/scripts/lib/build.sh"

ensure_packages "${SLED_BUILD_PACKAGES[@]}" "${SLED_TEST_PACKAGES[@]}"
ensure_tracefs
ensure_npm_fluent
ensure_npm_otlp

configure_and_build "$SLED_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== test suite (build/)"
ctest --test-dir "$SLED_ROOT/build" --output-on-failure -j2

if [[ -z ${SLED_SKIP_SANITIZE:-} ]]; then
	configure_and_build "$SLED_ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSLED_SANITIZE=ON
	echo "== test suite under ASan/UBSan (build-asan/, unit + fuzz corpus + integration)"
	# 1,000 toggles in the stress test here: the sanitizers are after memory errors, and the
	# full 5,000 already ran in the plain build.  The signals test gets the 1,000 toggles
	# its issue asks for under the sanitizers (and by default in the plain build).
	SLED_STRESS_TOGGLES=1000 SLED_SIGNALS_TOGGLES=1000 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$SLED_ROOT/build-asan" --output-on-failure -j2 -R '^(unit|fuzz|integration)\.' \
		-E 'fuzz\..*\.run$|integration\.install_consumer$'
fi

if [[ -z ${SLED_SKIP_FUZZ:-} ]]; then
	# The parsers under libFuzzer (clang), 20 s each from the checked-in seeds.
	log=$(mktemp)
	if ! { cmake -S "$SLED_ROOT" -B "$SLED_ROOT/build-fuzz" -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ &&
		cmake --build "$SLED_ROOT/build-fuzz" -j"$(nproc)" --target fuzz_argspec fuzz_notes fuzz_text fuzz_config fuzz_block fuzz_ring fuzz_ctl_request fuzz_http; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "Error: the fuzz build failed" >&2
		exit 1
	fi
	rm -f "$log"
	echo "== fuzzing (build-fuzz/, libFuzzer, 20 s per parser: arg specs, notes, text, config, shm block, rings, control requests, HTTP replies)"
	ctest --test-dir "$SLED_ROOT/build-fuzz" --output-on-failure -j2 -L fuzz
fi
