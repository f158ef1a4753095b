# shellcheck shell=bash
# Debian packages the project needs, installed only when missing.  Sourced by
# scripts/test.sh and scripts/demo.sh; quiet when there is nothing to do.

SLED_BUILD_PACKAGES=(cmake make gcc g++ clang llvm pkg-config binutils libelf-dev zlib1g-dev
	libbpf-dev bpftool libmsgpack-dev systemtap-sdt-dev)
SLED_TEST_PACKAGES=(bpftrace gdb python3 python3-msgpack util-linux libclang-rt-14-dev
	libfuzzer-14-dev)

sled_missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			printf '%s\n' "$p"
	done
}

# ensure_packages PKG...: apt-get install what is missing (apt-get update once first).
ensure_packages() {
	local missing
	mapfile -t missing < <(sled_missing_packages "$@")
	[[ ${#missing[@]} -eq 0 ]] && return 0
	if [[ $(id -u) -ne 0 ]]; then
		echo "Error: missing packages (${missing[*]}); run as root or install them" >&2
		return 1
	fi
	echo "Installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_tracefs: bpftrace and the kernel's uprobe interface live in tracefs, which a
# fresh machine may not have mounted.  Mounts it (root only) and says so.
ensure_tracefs() {
	local t=/sys/kernel/tracing
	[[ -e $t/uprobe_events ]] && return 0
	[[ $(id -u) -eq 0 ]] || return 0
	if mount -t tracefs nodev "$t" 2>/dev/null; then
		echo "Mounted tracefs at $t (needed by uprobes and bpftrace)"
	fi
	if [[ ! -e /sys/kernel/debug/tracing ]] && ! mountpoint -q /sys/kernel/debug; then
		mount -t debugfs nodev /sys/kernel/debug 2>/dev/null &&
			echo "Mounted debugfs at /sys/kernel/debug (older tools look for tracing there)"
	fi
	return 0
}
