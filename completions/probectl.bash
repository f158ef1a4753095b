# SPDX-License-Identifier: MIT
# bash completion for probectl: commands, their options, option values (modes, PIDs,
# files), tracepoint patterns (provider:name) that `probectl list --json` reports, from
# every readable process or from the -b binary / -p process on the line, and for
# disable the IDs of the daemon's probes (`probectl status --json`).
# Needs nothing from the bash-completion package.

# The provider:name of every tracepoint, and provider:* of every provider.
# Arguments: PROBECTL, then its global options (-S SOCKET), "--", then list's (-b/-p).
_probectl_tracepoints()
{
	local prog=$1
	local -a global=()
	shift
	while (($#)) && [[ $1 != -- ]]; do
		global+=("$1")
		shift
	done
	shift
	"$prog" "${global[@]}" list "$@" --json 2>/dev/null |
		grep -o '"provider":"[^"]*","name":"[^"]*"' |
		sed 's/^"provider":"\([^"]*\)","name":"\([^"]*\)"$/\1:\2 \1:*/' |
		tr ' ' '\n' | sort -u
}

# The IDs of the probes the daemon reports (probectl status --json), for disable.
# Arguments: PROBECTL, then its global options (-S SOCKET).
_probectl_probe_ids()
{
	local prog=$1
	shift
	"$prog" "$@" status --json 2>/dev/null | grep -o '"id":[0-9]*,"pattern"' |
		sed 's/[^0-9]//g' | sort -un
}

# COMPREPLY from compgen, one candidate per line (file names may hold blanks).
_probectl_compgen()
{
	mapfile -t COMPREPLY < <(compgen "$@")
}

# COMPREPLY from a word list.  Bash splits words at ':' (COMP_WORDBREAKS), so each
# candidate is given back without the part before the last ':', which bash considers a
# word already typed.
_probectl_reply()
{
	local cur=$1 words=$2 c
	local IFS=$'\n'

	_probectl_compgen -W "$words" -- "$cur"
	if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		for c in "${!COMPREPLY[@]}"; do
			COMPREPLY[c]=${COMPREPLY[c]#"${cur%:*}:"}
		done
	fi
}

_probectl()
{
	local prog=${COMP_WORDS[0]} line=${COMP_LINE:0:COMP_POINT}
	local cur="" prev="" cmd="" i w n
	local -a words sock=() scope=()
	local commands="list enable disable status tail top help"
	local global_opts="-S --socket -j --json -h --help -V --version"

	# Words from the line itself, split on blanks only: COMP_WORDS splits at ':' too,
	# which would cut provider:name in three.
	read -ra words <<<"$line"
	n=${#words[@]}
	if [[ -n $line && $line != *[[:space:]] ]]; then
		cur=${words[n - 1]}
		((n--))
	fi
	((n > 1)) && prev=${words[n - 1]}
	for ((i = 1; i < n; i++)); do
		w=${words[i]}
		case $w in
		-S | --socket) sock=(-S "${words[i + 1]-}"); ((i++)) ;;
		-b | --binary | -p | --pid) scope=("$w" "${words[i + 1]-}"); ((i++)) ;;
		--mode | --filter | --sample | --rate | -i | --interval) ((i++)) ;;
		-*) ;;
		*) [[ -z $cmd ]] && cmd=$w ;;
		esac
	done

	case $prev in
	-S | --socket | -b | --binary)
		_probectl_compgen -f -- "$cur"
		return ;;
	-p | --pid)
		_probectl_compgen -W "$(cd /proc && printf '%s\n' [0-9]*)" -- "$cur"
		return ;;
	--mode)
		_probectl_compgen -W "sled uprobe auto" -- "$cur"
		return ;;
	--filter | --sample | --rate | -i | --interval)
		return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_probectl_compgen -W "$global_opts" -- "$cur"
		else
			_probectl_compgen -W "$commands" -- "$cur"
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		local opts="--json --help"
		case $cmd in
		list) opts+=" -b --binary -p --pid -v --verbose" ;;
		enable) opts+=" -b --binary -p --pid --mode --filter --sample --rate --count-only --pending" ;;
		disable) opts+=" -b --binary -p --pid" ;;
		top) opts+=" -i --interval --once" ;;
		esac
		_probectl_compgen -W "$opts" -- "$cur"
		return
	fi
	case $cmd in
	disable)
		_probectl_reply "$cur" "$(_probectl_probe_ids "$prog" "${sock[@]}")
$(_probectl_tracepoints "$prog" "${sock[@]}" -- "${scope[@]}")" ;;
	list | enable | tail)
		_probectl_reply "$cur" "$(_probectl_tracepoints "$prog" "${sock[@]}" -- "${scope[@]}")" ;;
	help)
		_probectl_compgen -W "$commands" -- "$cur" ;;
	esac
}

complete -F _probectl probectl
