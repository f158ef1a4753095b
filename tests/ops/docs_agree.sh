#!/usr/bin/env bash
# The operations guide, the event schema and the man pages agree with the programs:
# the --version line, the schema version, the event keys the encoders write, the
# capability set of the unit, the security rating the README records.
# Usage: docs_agree.sh SOURCE_DIR PROBED BUILT_UNIT
set -uo pipefail
. "$(dirname "$0")/check_lib.sh"
src=$1 probed=$2 unit=$3
ops=$src/docs/operations.md schema=$src/docs/event-schema.md

check "operations.md shows probed --version as it is" 1 "$(grep -cxF "$("$probed" --version)" "$ops")"
v=$(sed -n 's/^\*\*Schema version \([0-9]*\)\*\*.*/\1/p' "$schema")
check "event-schema.md has a version" yes "$([[ -n $v ]] && echo yes || echo no)"
check "sled(7) has the same schema version" 1 "$(grep -c "^Schema version $v\.$" "$src/man/sled.7")"
# The keys of the event map, as encode_msgpack.c's header comment lists them.
keys=$(sed -n '/^ \*   {"provider"/,/}$/p' "$src/probed/export/encode_msgpack.c" | grep -o '"[a-z_]*":' | tr -d '":' | paste -sd' ')
check "encode_msgpack.c lists the event keys" "provider name ts pid tid mode args truncated" "$keys"
for k in $keys; do
	check "event-schema.md documents '$k'" 1 "$(grep -c "^| \`$k\` |" "$schema")"
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
for c in $caps; do
	check "operations.md explains $c" yes "$(grep -q "\`$c\`" "$ops" && echo yes || echo no)"
	check "probed(8) names $c" yes "$(grep -q "^\.B $c\$" "$src/man/probed.8" && echo yes || echo no)"
done
score=$(grep -o 'rates it \*\*[0-9.]* OK\*\*' "$src/README.md" | grep -o '[0-9.]*')
check "README and operations.md give the same security rating" yes \
	"$(grep -q "rates the unit $score" "$ops" && echo yes || echo "no: README $score")"
summary
