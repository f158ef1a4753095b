# shellcheck shell=bash
# Debian packages the project needs, installed only when missing.  Sourced by
# scripts/test.sh and scripts/demo.sh; quiet when there is nothing to do.

SLED_BUILD_PACKAGES=(cmake make gcc g++ clang llvm pkg-config binutils libelf-dev zlib1g-dev
	libssl-dev libbpf-dev bpftool libmsgpack-dev systemtap-sdt-dev)
SLED_TEST_PACKAGES=(bpftrace gdb python3 python3-msgpack util-linux libclang-rt-14-dev
	libfuzzer-14-dev rsyslog rsyslog-openssl openssl prometheus)
# tests/ops: man pages (groff, man, mandoc's linter), the unit (systemd-analyze), packages
# (cpack's dpkg-shlibdeps).
SLED_TEST_PACKAGES+=(groff-base man-db mandoc systemd dpkg-dev)

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

# ensure_npm_fluent: the npm package @fluent-org/logger, whose FluentServer is the
# independent Fluent Forward receiver of tests/integration/forward_fluent.py, in
# $SLED_NODE_CACHE/node_modules (the test looks there by default).  Installs node and npm
# from Debian if missing, then the pinned package from the npm registry, only when it is
# not there yet.  A failure is reported and not fatal: the test then says SKIP.
SLED_NODE_CACHE=${SLED_NODE_CACHE:-/var/cache/sled-test/node}
SLED_NPM_FLUENT=@fluent-org/logger@1.0.10
ensure_npm_fluent() {
	local dir=$SLED_NODE_CACHE log
	[[ -f $dir/node_modules/@fluent-org/logger/package.json ]] && return 0
	command -v node >/dev/null || ensure_packages nodejs || return 0
	command -v npm >/dev/null || ensure_packages npm || return 0
	echo "Installing npm package $SLED_NPM_FLUENT into $dir"
	log=$(mktemp)
	if ! { mkdir -p "$dir" && npm install --prefix "$dir" --no-audit --no-fund \
		--no-package-lock --loglevel=error "$SLED_NPM_FLUENT"; } >"$log" 2>&1; then
		cat "$log" >&2
		echo "Warning: could not install $SLED_NPM_FLUENT; the Fluent Forward test will skip" >&2
	fi
	rm -f "$log"
	return 0
}

# ensure_npm_otlp: the npm package @opentelemetry/otlp-transformer, whose generated
# protobuf code (build/src/generated/root.js, from opentelemetry-proto) decodes what the
# otlp output sends in tests/integration/otlp_receiver.js; in $SLED_NODE_CACHE like the
# Fluent package (npm records both in its package.json, so neither prunes the other).
# Pinned to the last release line that runs on Debian's Node 20 and still ships the
# protobufjs root.  A failure is reported and not fatal: the test then says SKIP.
SLED_NPM_OTLP=@opentelemetry/otlp-transformer@0.57.2
ensure_npm_otlp() {
	local dir=$SLED_NODE_CACHE log
	[[ -f $dir/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js ]] &&
		return 0
	command -v node >/dev/null || ensure_packages nodejs || return 0
	command -v npm >/dev/null || ensure_packages npm || return 0
	echo "Installing npm package $SLED_NPM_OTLP into $dir"
	log=$(mktemp)
	if ! { mkdir -p "$dir" && npm install --prefix "$dir" --no-audit --no-fund \
		--no-package-lock --loglevel=error "$SLED_NPM_OTLP"; } >"$log" 2>&1; then
		cat "$log" >&2
		echo "Warning: could not install $SLED_NPM_OTLP; the OTLP test will skip" >&2
	fi
	rm -f "$log"
	return 0
}
