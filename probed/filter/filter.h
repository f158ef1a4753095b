/* SPDX-License-Identifier: MIT */
/*
 * filter: --filter EXPR, parsed and type-checked against a tracepoint's fields at enable
 * time, compiled into a struct sled_filter_prog (include/sled/abi/filter_prog.h) that sled mode's
 * dispatcher and uprobe mode's BPF program evaluate before an event is recorded.
 *
 *   expr    := and ( '||' and )*
 *   and     := unary ( '&&' unary )*
 *   unary   := '!' unary | '(' expr ')' | 'true' | 'false' | BOOLFIELD | cmp
 *   cmp     := operand ( '==' | '!=' | '<' | '<=' | '>' | '>=' ) operand
 *   operand := FIELD | ['-'] INTEGER | ['-'] FLOAT | STRING | 'true' | 'false'
 *
 * FIELD is a field name (as `probectl list` shows it) or argN.  Integers are decimal or
 * 0x hex; strings are "double quoted" with \" \\ \n \t \* escapes, and a final unescaped
 * '*' makes == a prefix match ("req-*").  Type rules: integer fields take integer
 * literals (unsigned ones no negative literal), float/double fields take numbers, bool
 * fields == / != true/false, string fields == / != string literals, two fields compare
 * when they are of the same class.
 */
#ifndef SLED_FILTER_H
#define SLED_FILTER_H

#include <stddef.h>

#include "sled/abi/filter_prog.h"
#include "sites.h"

/*
 * Compile text for the given fields.  Returns 0, or -EINVAL with one line in err naming
 * the problem and its column: "unknown field 'idd' (fields: id, name) at column 1".
 */
int sled_filter_compile(const char *text, const struct sled_field *fields, unsigned nfields,
			struct sled_filter_prog *out, char *err, size_t errlen);

#endif /* SLED_FILTER_H */
