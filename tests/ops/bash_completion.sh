#!/usr/bin/env bash
# completions/probectl.bash, driven as bash drives it (COMP_WORDS, COMP_CWORD, COMP_LINE,
# COMP_POINT): commands, options per command, option values, and tracepoint patterns
# read with `probectl list --json` from the binary named by -b.
# Usage: bash_completion.sh COMPLETION_FILE PROBECTL TRACED_BINARY
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
. "$1"
probectl=$2 binary=$3

# complete LINE: the candidates for the end of LINE, sorted, space-separated.  Words are
# split as readline does, ':' included in COMP_WORDBREAKS.
complete_line() {
	local line=$1
	local -a words=()
	COMP_LINE=$line
	COMP_POINT=${#line}
	# readline's split: blanks separate, ':' is a word of its own.
	read -ra words <<<"${line//:/ : }"
	[[ $line == *[[:space:]] || $line == *: ]] && words+=("")
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMPREPLY=()
	_probectl
	printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ' | sed 's/^ *//' 
}

check "registered for probectl" "complete -F _probectl probectl" "$(complete -p probectl)"
check "commands" "disable enable help list status tail top" "$(complete_line "$probectl ")"
check "a command's prefix" "disable" "$(complete_line "$probectl di")"
check "global options" "--json" "$(complete_line "$probectl --j")"
check "global options first" "--socket" "$(complete_line "$probectl --so")"
check "enable's options" "--count-only" "$(complete_line "$probectl enable --co")"
check "enable's --mode values" "auto sled uprobe" "$(complete_line "$probectl enable x:y --mode ")"
check "list's options" "--verbose" "$(complete_line "$probectl list --verb")"
check "status has no --filter" "" "$(complete_line "$probectl status --fi")"
check "top's options" "--once" "$(complete_line "$probectl top --on")"
check "help takes a command" "enable" "$(complete_line "$probectl help en")"
check "-p offers PIDs" yes "$(complete_line "$probectl enable x:y -p " | grep -cw 1 >/dev/null && echo yes || echo no)"
check "-b offers files" "$binary" "$(complete_line "$probectl list -b $binary")"

# Patterns: from `probectl list -b BINARY --json`, all of provider:name and provider:*.
check "patterns of the -b binary" "sample:* sample:debug sample:request sample:tick" \
	"$(complete_line "$probectl enable -b $binary ")"
# Bash has already taken "sample:" as typed (':' breaks words): candidates lack it.
check "patterns by prefix" "request" "$(complete_line "$probectl enable -b $binary sample:r")"
check "after the colon, the rest of the name" "debug request tick" \
	"$(complete_line "$probectl enable -b $binary sample:" | tr ' ' '\n' | grep -v '^\*$' | paste -sd' ')"
check "patterns for list, --json on the line" "sample:request" \
	"$(COMP_WORDBREAKS=' ' complete_line "$probectl list -b $binary --json sample:req")"
check "options after the pattern still complete" "--filter" "$(complete_line "$probectl enable -b $binary sample:request --fil")"
check "no completion for --filter's value" "" "$(complete_line "$probectl enable sample:request --filter ")"

# disable: probe IDs from `probectl status --json` (a stand-in probectl answers it, as a
# daemon with probes 3 and 12 would; everything else goes to the real one).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/probectl" <<SH
#!/usr/bin/env bash
for a; do
	if [[ \$a == status ]]; then
		echo "\$*" >>"$tmp/status-args"
		echo '{"probes":[{"id":3,"pattern":"sample:*","scope":""},{"id":12,"pattern":"x:y"}],"processes":[{"pid":5,"probes":[3]}]}'
		exit 0
	fi
done
exec "$probectl" "\$@"
SH
chmod +x "$tmp/probectl"
check "disable offers the daemon's probe IDs" "12" "$(complete_line "$tmp/probectl disable 1")"
check "and the patterns" "12 3 sample:* sample:debug sample:request sample:tick" \
	"$(complete_line "$tmp/probectl -S $tmp/sock disable -b $binary ")"
check "asking the daemon on the socket given" "-S $tmp/sock status --json" "$(tail -1 "$tmp/status-args")"
summary
