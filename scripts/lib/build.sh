# shellcheck shell=bash
# configure_and_build DIR [CMAKE ARGS...]: an out-of-tree build, quiet unless it fails.
configure_and_build() {
	local dir=$1 log
	shift
	log=$(mktemp)
	if ! { cmake -S "$SLED_ROOT" -B "$dir" "$@" && cmake --build "$dir" -j"$(nproc)"; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "Error: build in $dir failed" >&2
		return 1
	fi
	rm -f "$log"
}
